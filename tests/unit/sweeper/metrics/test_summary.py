"""Every formula of summarize() on hand-computed records (ms offsets from t0 = 1 s)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.metrics import summarize, time_series
from sweeper.metrics.per_request import itls_ms, tpot_ms
from sweeper.records import RequestRecord
from sweeper.schema import SloConfig

T0 = 1_000_000_000
MS = 1_000_000


def rec(
    i: int,
    send_ms: float,
    chunks: list[tuple[float, int]],
    prompt_len: int,
    error: str = "",
    end_ms: float | None = None,
) -> RequestRecord:
    r = RequestRecord(index=i, request_id=f"r{i}", prompt_len=prompt_len, expected_output_len=4)
    r.t_scheduled_ns = r.t_dispatch_ns = r.t_send_ns = T0 + int(send_ms * MS)
    r.chunk_times_ns = [T0 + int(t * MS) for t, _ in chunks]
    r.chunk_tokens = [k for _, k in chunks]
    r.output_len = sum(r.chunk_tokens)
    r.exact_chunk_tokens = True
    if chunks:
        r.t_first_token_ns, r.t_end_ns = r.chunk_times_ns[0], r.chunk_times_ns[-1]
    if end_ms is not None:
        r.t_end_ns = T0 + int(end_ms * MS)
    r.error = error
    r.success = not error and bool(chunks)
    return r


def hand_run(**load: object) -> BenchmarkRun:
    records = [
        # A: TTFT 100, E2EL 250, 4 tokens (last chunk carries 2) -> TPOT 50, ITL [50, 50, 50]
        rec(0, 0, [(100, 1), (150, 1), (250, 2)], prompt_len=10),
        # B: one token: TTFT 40, E2EL 40, no TPOT, no ITL
        rec(1, 10, [(50, 1)], prompt_len=20),
        # C: failed
        rec(2, 5, [], prompt_len=30, error="http_500: boom", end_ms=20),
        # D: first chunk carries 3 tokens: TTFT 40, E2EL 100, TPOT 20, ITL [0, 0, 60]
        rec(3, 0, [(40, 3), (100, 1)], prompt_len=40),
    ]
    return BenchmarkRun(
        records=records,
        t_start_ns=T0,
        t_end_ns=T0 + 1000 * MS,
        model="m",
        load=LoadConfig(**load),  # type: ignore[arg-type]
        t_measure_start_ns=T0,
        client_cpu_ns=9_000_000,
    )


def test_per_request_formulas() -> None:
    a, b, _, d = hand_run().records
    assert itls_ms(a).tolist() == pytest.approx([50, 50, 50])
    assert itls_ms(b).tolist() == []
    assert itls_ms(d).tolist() == pytest.approx([0, 0, 60])
    assert (
        tpot_ms(a) == pytest.approx(50) and tpot_ms(b) is None and tpot_ms(d) == pytest.approx(20)
    )
    # per request: ITLs sum to E2EL - TTFT and average to TPOT
    assert itls_ms(a).sum() == pytest.approx(150) and itls_ms(d).mean() == pytest.approx(20)


def test_counts_and_throughputs() -> None:
    s = summarize(hand_run(), SloConfig(), [50, 90, 99])
    assert s["duration"] == pytest.approx(1.0)
    assert (s["completed"], s["failed"]) == (3, 1)
    assert s["total_input_tokens"] == 70 and s["total_output_tokens"] == 9
    assert s["request_throughput"] == pytest.approx(3.0)
    assert s["output_throughput"] == pytest.approx(9.0)
    assert s["total_token_throughput"] == pytest.approx(79.0)
    assert s["request_goodput"] is None
    assert s["max_concurrent_requests"] == 3
    assert s["max_output_tokens_per_s"] == pytest.approx(9.0)
    assert s["request_rate"] == "inf" and s["max_concurrency"] is None and s["burstiness"] == 1.0


def test_latency_statistics() -> None:
    s = summarize(hand_run(), SloConfig(), [50, 90, 99, 99.9])
    assert s["mean_ttft_ms"] == pytest.approx((100 + 40 + 40) / 3)
    assert s["median_ttft_ms"] == pytest.approx(40)
    assert s["std_ttft_ms"] == pytest.approx(np.std([100, 40, 40]))
    # sorted [40, 40, 100]: p99 at index 1.98 -> 40 + 0.98 * 60
    assert s["p99_ttft_ms"] == pytest.approx(98.8)
    assert s["p99.9_ttft_ms"] == pytest.approx(40 + 0.998 * 60)
    assert s["mean_tpot_ms"] == pytest.approx(35) and s["median_tpot_ms"] == pytest.approx(35)
    # ITLs [50, 50, 50, 0, 0, 60]
    assert s["mean_itl_ms"] == pytest.approx(35)
    assert s["median_itl_ms"] == pytest.approx(50)
    assert s["p90_itl_ms"] == pytest.approx(55)
    assert s["mean_e2el_ms"] == pytest.approx((250 + 40 + 100) / 3)
    assert s["median_e2el_ms"] == pytest.approx(100)
    for key in ("ttft", "tpot", "itl", "e2el"):
        assert {f"p50_{key}_ms", f"p90_{key}_ms", f"p99_{key}_ms", f"p99.9_{key}_ms"} <= set(s)


@pytest.mark.parametrize(
    ("slo", "good"),
    [
        (SloConfig(ttft_ms=60), 2),  # B, D
        (SloConfig(ttft_ms=39), 0),
        (SloConfig(tpot_ms=30), 2),  # B (1 token: TPOT 0), D
        (SloConfig(e2el_ms=100), 2),  # B, D (bound inclusive)
        (SloConfig(ttft_ms=100, tpot_ms=25), 2),  # B, D
        (SloConfig(ttft_ms=100, tpot_ms=10), 1),  # B
    ],
)
def test_goodput(slo: SloConfig, good: int) -> None:
    assert summarize(hand_run(), slo, [99])["request_goodput"] == pytest.approx(good / 1.0)


def test_all_failed_gives_zeros() -> None:
    run = hand_run()
    run.records = [run.records[2]]
    s = summarize(run, SloConfig(ttft_ms=1), [99])
    assert (s["completed"], s["failed"]) == (0, 1)
    assert s["mean_ttft_ms"] == 0.0 and s["p99_e2el_ms"] == 0.0 and s["request_goodput"] == 0.0
    assert s["sweeper"]["errors_by_reason"] == {"http_500": 1}


def test_extras_and_queue_keys_with_a_cap() -> None:
    run = hand_run(concurrency=2, request_rate=4.0)
    # D waited 30 ms for a slot after its dispatch
    d = run.records[3]
    d.t_scheduled_ns = d.t_dispatch_ns = d.t_send_ns - 30 * MS
    s = summarize(run, SloConfig(), [50])
    assert s["max_concurrency"] == 2 and s["request_rate"] == 4.0
    assert s["mean_client_queue_time_ms"] == pytest.approx(10.0)
    assert s["p50_e2el_including_client_queue_ms"] == pytest.approx(100 + 30)
    x = s["sweeper"]
    # A [0, 250], D [0, 100], C (failed) [5, 20], B [10, 50]: all four at 10..20 ms
    assert x["peak_concurrency"] == 4
    assert x["errors_by_reason"] == {"http_500": 1}
    # expected 4 tokens each: B (1 token) is the only successful mismatch
    assert x["itl_per_token"] is True and x["output_len_mismatch"] == 1
    assert x["client_cpu_us_per_output_token"] == pytest.approx(9000 / 9)
    assert x["mean_send_lateness_ms"] == 0.0
    # sweeper's queue time is dispatch -> send over all measured requests: D 30 ms, others 0
    assert x["mean_queue_ms"] == pytest.approx(30 / 4)


def test_time_series_per_second() -> None:
    frame = time_series(hand_run())
    assert list(frame.columns) == [
        "step", "sent", "completed", "failed", "output_tokens", "in_flight",
    ]  # fmt: skip
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["sent"], row["completed"], row["failed"], row["output_tokens"]) == (4, 3, 1, 9)
    assert row["in_flight"] == pytest.approx((250 + 40 + 15 + 100) / 1000)


def test_time_series_splits_seconds() -> None:
    r = rec(0, 500, [(1200, 1), (2100, 2)], prompt_len=1)
    run = BenchmarkRun([r], T0, T0 + 2500 * MS, "m", LoadConfig(), T0)
    frame = time_series(run)
    assert frame["output_tokens"].tolist() == [0, 1, 2]
    assert frame["in_flight"].tolist() == pytest.approx([0.5, 1.0, 0.1])
    assert frame["completed"].tolist() == [0, 0, 1]
    assert math.isclose(frame["in_flight"].sum(), 1.6)


def test_closed_loop_has_no_rate_or_lateness_extras() -> None:
    s = summarize(hand_run(concurrency=4), SloConfig(), [99])
    assert "p99_client_queue_time_ms" in s  # vLLM reports it whenever there is a cap
    assert "e2el_including_client_queue_ms" not in "".join(s)  # only for an open loop
    x = s["sweeper"]
    assert not {"send_rate", "p99_send_lateness_ms", "p99_queue_ms"} & set(x)


def test_total_input_uses_the_servers_prompt_count_when_reported() -> None:
    run = hand_run()
    run.records[0].server_prompt_len = 13  # A: dataset said 10
    assert summarize(run, SloConfig(), [99])["total_input_tokens"] == 70 - 10 + 13


def test_trace_replay_reports_lateness_but_no_requested_rate() -> None:
    s = summarize(hand_run(schedule="trace"), SloConfig(), [99])
    x = s["sweeper"]
    assert "p99_send_lateness_ms" in x and x["requested_rate"] is None
    assert "send_rate_error_pct" not in x


def test_statistics_by_label() -> None:
    run = hand_run()
    run.records[0].labels = {"prefix": "0"}  # A: TTFT 100
    run.records[1].labels = {"prefix": "1"}  # B: TTFT 40
    run.records[3].labels = {"prefix": "0"}  # D: TTFT 40
    groups = summarize(run, SloConfig(), [50])["sweeper"]["by_label"]
    assert set(groups) == {"prefix=0", "prefix=1"}
    assert groups["prefix=0"]["completed"] == 2 and groups["prefix=0"]["median_ttft_ms"] == 70.0
    assert groups["prefix=0"]["output_throughput"] == pytest.approx(8.0)
    assert groups["prefix=1"]["mean_e2el_ms"] == pytest.approx(40.0)
    assert "by_label" not in summarize(hand_run(), SloConfig(), [50])["sweeper"]
