"""run_benchmark against an in-process fake OpenAI server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from instruments.errors import ConfigError
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.runner import run_benchmark
from sweeper.records import RequestSpec
from tests.unit.sweeper.client.fake_openai import FakeBehaviour, FakeOpenAI


def specs(n: int, out: int = 5) -> list[RequestSpec]:
    return [RequestSpec(prompt=f"hello {i}", prompt_len=2, output_len=out) for i in range(n)]


def run(
    behaviour: FakeBehaviour, requests: list[RequestSpec], **load: Any
) -> tuple[BenchmarkRun, FakeOpenAI]:
    load.setdefault("progress", False)

    async def main() -> tuple[BenchmarkRun, FakeOpenAI]:
        async with FakeOpenAI(behaviour) as server:
            result = await run_benchmark(server.base_url, "fake", requests, LoadConfig(**load))
            return result, server

    return asyncio.run(main())


def test_closed_loop_caps_in_flight_and_sends_ids() -> None:
    result, server = run(FakeBehaviour(ttft_s=0.01, itl_s=0.002), specs(24), concurrency=4)
    recs = result.records
    assert len(recs) == 24 and all(r.success for r in recs)
    assert server.seen.peak_in_flight == 4
    sent_ids = [h["x-request-id"] for h in server.seen.headers if "x-request-id" in h]
    assert sorted(sent_ids) == sorted(r.request_id for r in recs)
    assert len(set(sent_ids)) == 24
    assert all(r.output_len == 5 and r.chunk_tokens == [1] * 5 for r in recs)
    assert all(r.generated_text == "t0 t1 t2 t3 t4 " for r in recs)
    assert all(r.server_prompt_len == 3 for r in recs)  # the fake server's usage.prompt_tokens
    # the connections were opened before the clock (prewarm) and reused: at most 4 + prewarm
    assert len(server.seen.connections) <= 8


def test_timestamps_bracket_the_servers_truth() -> None:
    result, server = run(FakeBehaviour(ttft_s=0.03, itl_s=0.01), specs(3, out=4), concurrency=1)
    for r in result.records:
        arrival, first, last = server.seen.truth[r.request_id]
        assert r.t_post_ns <= r.t_send_ns <= arrival < first <= r.t_first_token_ns
        assert last <= r.t_end_ns
        assert r.ttft_ms >= 30.0
        # 3 gaps of >= 10 ms after the first token
        assert (r.t_end_ns - r.t_first_token_ns) / 1e6 >= 30.0
    assert result.t_start_ns <= min(r.t_send_ns for r in result.records)
    assert result.t_end_ns >= max(r.t_end_ns for r in result.records)


def test_body_has_stream_usage_and_ignore_eos() -> None:
    _, server = run(FakeBehaviour(), specs(2, out=7), concurrency=2, extra_body={"top_k": 3})
    body = next(b for b in server.seen.bodies if "prompt" in b)
    assert body["model"] == "fake" and body["max_tokens"] == 7 and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["ignore_eos"] is True and body["top_k"] == 3


def test_multi_token_chunks_counted_per_token_with_usage() -> None:
    result, _ = run(FakeBehaviour(tokens_per_chunk=3), specs(2, out=7), concurrency=2)
    for r in result.records:
        assert r.chunk_tokens == [3, 3, 1] and r.output_len == 7 and r.exact_chunk_tokens


def test_multi_token_chunks_without_usage_fall_back_to_chunks() -> None:
    b = FakeBehaviour(tokens_per_chunk=3, continuous_usage=False)
    result, _ = run(b, specs(1, out=7), concurrency=1)
    r = result.records[0]
    assert r.chunk_tokens == [1, 1, 1] and r.output_len == 7 and not r.exact_chunk_tokens


def test_chat_role_chunk_is_not_the_first_token() -> None:
    result, server = run(
        FakeBehaviour(ttft_s=0.03), specs(2, out=3), concurrency=1, backend="openai-chat"
    )
    body = server.seen.bodies[-1]
    assert body["messages"] == [{"role": "user", "content": "hello 1"}]
    assert body["max_completion_tokens"] == 3
    for r in result.records:
        assert r.success and r.output_len == 3 and r.chunk_tokens == [1, 1, 1]
        assert r.ttft_ms >= 30.0


def test_sse_events_split_across_writes_and_crlf() -> None:
    b = FakeBehaviour(split_events=True, crlf=True, itl_s=0.001)
    result, _ = run(b, specs(3, out=4), concurrency=3)
    assert all(
        r.success and r.output_len == 4 and len(r.chunk_times_ns) == 4 for r in result.records
    )


def test_failures_are_recorded_by_reason() -> None:
    # arrival index 0..: prewarm uses GET, so POST bodies index from 0
    b = FakeBehaviour(fail_http={1}, cut_after_first={3})
    result, _ = run(b, specs(6, out=4), concurrency=1)
    failed = [r for r in result.records if not r.success]
    assert len(failed) == 2
    assert {r.error.split(":")[0] for r in failed} == {"http_500", "incomplete_response"} or {
        r.error.split(":")[0] for r in failed
    } == {"http_500", "server_disconnected"}
    http = next(r for r in failed if r.http_status == 500)
    assert "boom" in http.error


def test_connection_refused_is_an_error_not_a_crash() -> None:
    async def main() -> BenchmarkRun:
        return await run_benchmark(
            "http://127.0.0.1:9", "m", specs(2), LoadConfig(concurrency=2, progress=False)
        )

    result = asyncio.run(main())
    assert [r.success for r in result.records] == [False, False]
    assert all(r.error.startswith("connect_error") for r in result.records)


def test_api_key_from_env_never_in_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPER_TEST_KEY", "sk-secret-123")
    result, server = run(FakeBehaviour(), specs(2), concurrency=1, api_key_env="SWEEPER_TEST_KEY")
    posts = [h for h in server.seen.headers if "x-request-id" in h]
    assert all(h["authorization"] == "Bearer sk-secret-123" for h in posts)
    assert "sk-secret" not in repr(result.records) and "sk-secret" not in repr(result.load)


def test_missing_api_key_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEPER_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match="SWEEPER_NOT_SET"):
        run(FakeBehaviour(), specs(1), api_key_env="SWEEPER_NOT_SET")


def test_open_loop_sends_on_schedule() -> None:
    result, _ = run(FakeBehaviour(), specs(40, out=2), request_rate=200.0, seed=3)
    recs = result.records
    offsets = sorted((r.t_scheduled_ns - result.t_start_ns) / 1e9 for r in recs)
    assert offsets[-1] == pytest.approx(40 / 200.0, abs=1e-6)
    # never early; how late is a figure for the benchmarks, not an assert here
    assert all(r.t_dispatch_ns >= r.t_scheduled_ns for r in recs)
    # without a cap nothing waits for a slot: sent in the dispatching step
    assert all(r.t_dispatch_ns <= r.t_send_ns for r in recs)
    assert len({r.t_scheduled_ns for r in recs}) == 40


def test_open_loop_with_cap_records_queue_time() -> None:
    b = FakeBehaviour(ttft_s=0.05)
    result, server = run(b, specs(6, out=1), request_rate=1000.0, concurrency=2)
    assert server.seen.peak_in_flight <= 2
    queued = sorted(r.queue_ms for r in result.records)
    # 6 arrive within ~6 ms, 2 slots of >= 50 ms: the last two wait about 100 ms
    assert queued[-1] >= 90.0


def test_warmup_requests_are_sent_first_and_flagged() -> None:
    result, server = run(FakeBehaviour(), specs(3), concurrency=1, warmup_requests=2)
    assert len(result.records) == 5 and len(result.measured) == 3
    warm = [r for r in result.records if r.warmup]
    assert len(warm) == 2 and all(r.t_end_ns <= result.t_start_ns for r in warm)
    assert len([h for h in server.seen.headers if "x-request-id" in h]) == 5


def test_duration_closed_loop_stops_starting_at_the_deadline() -> None:
    t0 = time.monotonic()
    result, _ = run(FakeBehaviour(ttft_s=0.01), specs(2, out=1), concurrency=2, duration_s=0.3)
    assert time.monotonic() - t0 >= 0.3
    recs = result.records
    assert len(recs) >= 10
    assert [r.index for r in recs] == list(range(len(recs)))
    # the loop decides at dispatch; the socket write follows (later on a loaded machine)
    assert all(r.t_dispatch_ns < result.t_start_ns + 300_000_000 for r in recs)
    assert all(r.t_send_ns >= r.t_dispatch_ns for r in recs)


def test_non_streaming_response() -> None:
    result, _ = run(FakeBehaviour(ttft_s=0.01), specs(2, out=6), concurrency=1, stream=False)
    for r in result.records:
        assert r.success and r.output_len == 6
        assert r.t_first_token_ns == r.t_end_ns and r.chunk_tokens == [6]


def test_generate_backend_streaming_paths() -> None:
    load = {
        "backend": "generate",
        "concurrency": 1,
        "generate": {},
    }
    from sweeper.client.config import GenerateProtocolConfig

    load["generate"] = GenerateProtocolConfig(
        text_path="data.text", output_tokens_path="data.num_tokens", finished_path="data.finished"
    )
    result, server = run(FakeBehaviour(), specs(2, out=3), **load)
    body = server.seen.bodies[-1]
    assert body["prompt"] == "hello 1" and body["history_input"] == [] and body["max_tokens"] == 3
    for r in result.records:
        assert r.success and r.output_len == 3 and r.chunk_tokens == [1, 1, 1]
        assert r.generated_text == "t0 t1 t2 "


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"load\.backend"):
        run(FakeBehaviour(), specs(1), backend="nope")


def test_trace_schedule_replays_arrival_times() -> None:
    reqs = specs(4, out=1)
    for spec, ts in zip(reqs, [100.0, 100.3, 100.1, 100.2], strict=True):
        spec.arrival_s = ts
    result, _ = run(FakeBehaviour(), reqs, schedule="trace", trace_speedup=2.0)
    offsets = [(r.t_scheduled_ns - result.t_start_ns) / 1e9 for r in result.records]
    assert offsets == pytest.approx([0.0, 0.15, 0.05, 0.1])
    order = sorted(result.records, key=lambda r: r.t_dispatch_ns)
    assert [r.index for r in order] == [0, 2, 3, 1]


def test_trace_schedule_needs_timestamps() -> None:
    with pytest.raises(ConfigError, match="no timestamp"):
        run(FakeBehaviour(), specs(2), schedule="trace")


def test_warmup_seconds_exclude_the_first_window() -> None:
    result, _ = run(
        FakeBehaviour(), specs(30, out=1), request_rate=100.0, burstiness=float("inf"),
        warmup_s=0.1,
    )  # fmt: skip
    warm = [r for r in result.records if r.warmup]
    # evenly spaced at 10 ms from 10 ms: offsets < 100 ms are the first 9
    assert len(warm) == 9 and len(result.measured) == 21
    assert result.t_measure_start_ns == result.t_start_ns + 100_000_000


def test_linear_ramp_speeds_up() -> None:
    result, _ = run(
        FakeBehaviour(), specs(21, out=1), ramp_up_strategy="linear", ramp_up_start_rps=20.0,
        ramp_up_end_rps=200.0, burstiness=float("inf"),
    )  # fmt: skip
    sched = sorted(r.t_scheduled_ns for r in result.records)
    gaps = np.diff(sched) / 1e9
    assert gaps[0] == pytest.approx(1 / 29.0, rel=1e-3) and gaps[-1] == pytest.approx(1 / 200.0)


def test_worker_processes_split_the_run() -> None:
    result, server = run(
        FakeBehaviour(ttft_s=0.01), specs(40, out=3), concurrency=4, workers=2,
        warmup_requests=1,
    )  # fmt: skip
    measured = result.measured
    assert [r.index for r in measured] == list(range(40)) and all(r.success for r in measured)
    assert server.seen.peak_in_flight <= 4
    sent = {h["x-request-id"] for h in server.seen.headers if "x-request-id" in h}
    assert sent == {r.request_id for r in result.records}
    assert all(r.t_send_ns >= result.t_start_ns for r in measured)
    assert result.t_end_ns >= max(r.t_end_ns for r in measured) and result.client_cpu_ns > 0


def test_worker_processes_open_loop_keep_the_schedule() -> None:
    result, _ = run(FakeBehaviour(), specs(30, out=1), request_rate=100.0, workers=3, seed=4)
    from sweeper.client.schedules.rate import rate_offsets

    planned = rate_offsets(LoadConfig(request_rate=100.0, seed=4), 30)
    got = [(r.t_scheduled_ns - result.t_start_ns) / 1e9 for r in result.records]
    assert got == pytest.approx(planned.tolist(), abs=1e-6)


def test_worker_processes_closed_loop_for_a_duration() -> None:
    result, _ = run(FakeBehaviour(), specs(3, out=1), concurrency=2, workers=2, duration_s=1.0)
    idx = [r.index for r in result.records]
    # worker w numbers its requests w, w + 2, ...: disjoint, so the merged run has no clashes
    assert idx == sorted(set(idx)) and len(idx) >= 1 and all(r.success for r in result.records)
    # no request is started after the duration (its bytes may reach the wire a little later)
    deadline = result.t_start_ns + 1_000_000_000
    assert all(r.t_scheduled_ns < deadline for r in result.records)


def test_run_reports_client_cost_and_loop_lag() -> None:
    from sweeper.metrics import summarize
    from sweeper.schema import SloConfig

    result, _ = run(FakeBehaviour(ttft_s=0.03), specs(4, out=3), concurrency=2,
                    loop_lag_period_ms=5)  # fmt: skip
    assert result.client_cpu_ns > 0 and len(result.loop_lag_ms) >= 3
    extra = summarize(result, SloConfig(), [99])["sweeper"]
    assert extra["client_cpu_s"] > 0 and extra["client_cpu_us_per_output_token"] > 0
    assert "p99_loop_lag_ms" in extra and extra["itl_per_token"] is True


@pytest.mark.timeout(60)
def test_the_lag_sampler_ends_with_the_run_not_at_its_next_tick() -> None:
    # a 10-minute period: a sampler awaited to its next tick would hold the run that long
    result, _ = run(FakeBehaviour(), specs(2, out=2), concurrency=1, loop_lag_period_ms=600_000)
    assert len(result.records) == 2 and all(r.success for r in result.records)
    assert result.loop_lag_ms == []  # the tick it was in is no sample


def test_no_output_len_means_no_ignore_eos() -> None:
    reqs = [RequestSpec(prompt="x", prompt_len=1, output_len=None)]
    _, server = run(FakeBehaviour(), reqs, concurrency=1)
    body = server.seen.bodies[-1]
    assert "ignore_eos" not in body and "max_tokens" not in body


def test_a_stalled_stream_times_out_without_blocking_the_others() -> None:
    b = FakeBehaviour(stall_after_first={0}, stall_s=1.0)
    result, _ = run(b, specs(3, out=3), concurrency=3, request_timeout_s=0.2)
    by_index = {r.index: r for r in result.records}
    stalled = [r for r in result.records if not r.success]
    assert len(stalled) == 1 and stalled[0].error.startswith("timeout")
    # the first token had arrived: it stays in the record
    assert stalled[0].chunk_tokens == [1]
    assert sum(r.success for r in by_index.values()) == 2


def test_cancelled_worker_run_leaves_no_process() -> None:
    """Cancelling the run (what Ctrl-C does to asyncio.run) kills and reaps the workers; the
    autouse fixture fails the test if any process is left."""

    async def main() -> None:
        async with FakeOpenAI(FakeBehaviour(ttft_s=0.05)) as server:
            load = LoadConfig(concurrency=2, workers=2, duration_s=30.0, progress=False)
            task = asyncio.create_task(run_benchmark(server.base_url, "m", specs(2), load))
            await asyncio.sleep(3.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 25  # not the 30 s of the run
