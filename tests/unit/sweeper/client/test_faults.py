"""One request's faults cost that request only; a gone server stops the load (closed loop,
open loop, duration runs) and the run says why. Against bad_sse_server in this process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from launchers.process import free_port
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.runner import run_benchmark
from sweeper.records import RequestSpec
from tests.helpers.bad_sse_server import WRONG_SHAPES, Faults, build_app


def specs(n: int) -> list[RequestSpec]:
    return [RequestSpec(prompt=f"p{i}", prompt_len=1, output_len=4) for i in range(n)]


@asynccontextmanager
async def bad_server(*modes: str, **faults: Any) -> AsyncIterator[str]:
    """bad_sse_server in this loop; its crash stops listening (new connections are refused)."""
    tasks: set[asyncio.Task[None]] = set()

    def crash() -> None:
        if not tasks:
            tasks.add(asyncio.get_running_loop().create_task(site.stop()))

    app = build_app("m", Faults(list(modes), crash=crash, **faults))
    # handlers asleep in a stall or a heartbeat are cancelled at once on cleanup
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def run(modes: tuple[str, ...], n: int, faults: dict[str, Any] | None = None, **load: Any
        ) -> tuple[BenchmarkRun, float]:  # fmt: skip
    load.setdefault("progress", False)

    async def main() -> BenchmarkRun:
        async with bad_server(*modes, **(faults or {})) as url:
            return await run_benchmark(url, "m", specs(n), LoadConfig(**load))

    t0 = time.monotonic()
    result = asyncio.run(main())
    return result, time.monotonic() - t0


def reasons(result: BenchmarkRun) -> Counter[str]:
    return Counter(r.error.split(":", 1)[0] for r in result.records if r.error)


def test_every_wrong_shape_fails_its_request_only() -> None:
    modes = ("good", "wrong_shape")
    result, _ = run(modes, 2 * len(WRONG_SHAPES), concurrency=1)
    assert len(result.records) == 16
    assert reasons(result) == {"bad_event": 8}
    assert sum(r.success for r in result.records) == 8
    assert not result.stopped_reason


def test_heartbeats_do_not_outlive_request_timeout() -> None:
    result, took = run(("heartbeat",), 4, concurrency=4, request_timeout_s=1.5)
    print(f"4 heartbeat streams, request_timeout_s=1.5: {took:.1f} s")
    assert reasons(result) == {"timeout": 4}
    assert all(r.chunk_tokens == [1] for r in result.records), "the token before is kept"


def test_idle_timeout_is_its_own_reason() -> None:
    result, _ = run(("stall",), 2, concurrency=2, request_timeout_s=60, idle_timeout_s=0.5)
    assert reasons(result) == {"idle_timeout": 2}


def test_bytes_keep_a_stream_from_the_idle_timeout() -> None:
    """A heartbeat every 0.5 s is not silence for idle_timeout_s=0.8 (the reader checks the
    last read's stamp, not a timer re-armed per read): the request timeout ends them; good
    streams on the same connections are unaffected."""
    result, _ = run(("heartbeat", "good"), 4, concurrency=2, request_timeout_s=2.0,
                    idle_timeout_s=0.8)  # fmt: skip
    assert reasons(result) == {"timeout": 2}
    assert sum(r.success for r in result.records) == 2


def test_non_json_answers_and_broken_framing() -> None:
    result, took = run(("html_502", "html_200", "broken_chunk", "good"), 8, concurrency=2,
                       request_timeout_s=30)  # fmt: skip
    print(f"html/broken framing: {took:.1f} s")
    assert reasons(result) == {"http_502": 2, "bad_event": 2, "incomplete_response": 2}
    assert took < 20, "the broken framing is noticed at once, not at the timeout"


def test_a_huge_event_fails_at_the_limit() -> None:
    result, _ = run(("huge_line", "good"), 4, {"huge_mib": 32}, concurrency=2,
                    max_event_bytes=1 << 20)  # fmt: skip
    assert reasons(result) == {"event_too_large": 2}


def test_closed_loop_stops_when_the_server_is_gone() -> None:
    result, took = run(("good",), 400, {"crash_after": 10}, concurrency=4, max_connect_failures=5)
    print(f"closed loop, crash after 10 of 400: {took:.1f} s, {len(result.records)} records")
    assert result.stopped_reason.startswith("server_unreachable: 5 requests in a row")
    assert len(result.records) + result.not_sent == 400
    assert sum(r.success for r in result.records) == 10
    assert all(r.t_post_ns for r in result.records), "only requests that were sent"
    assert len(result.records) < 10 + 5 + 8


def test_worker_processes_stop_and_say_why() -> None:
    """load.workers=2: each worker stops on its own run of failures; the run reports why and
    how many were never sent, as one process does."""
    result, took = run(("good",), 400, {"crash_after": 10}, concurrency=4, workers=2,
                       max_connect_failures=5)  # fmt: skip
    print(f"2 workers, crash after 10 of 400: {took:.1f} s, {len(result.records)} records")
    assert result.stopped_reason.startswith("server_unreachable: 5 requests in a row")
    assert len(result.records) + result.not_sent == 400
    assert sum(r.success for r in result.records) == 10
    assert len(result.records) < 10 + 2 * (5 + 4)


def test_open_loop_stops_without_waiting_for_the_next_send() -> None:
    # 2 req/s: 60 s of schedule; the stop must not wait out the gaps
    result, took = run(("good",), 120, {"crash_after": 3}, request_rate=2.0,
                       max_connect_failures=2)  # fmt: skip
    print(f"open loop, crash after 3: {took:.1f} s, {len(result.records)} records")
    assert result.stopped_reason and len(result.records) == 5 and result.not_sent == 115
    assert took < 30


def test_duration_runs_stop_too() -> None:
    closed, took_closed = run(("good",), 4, {"crash_after": 6}, concurrency=2, duration_s=30)
    opened, took_open = run(("good",), 4, {"crash_after": 6}, request_rate=50, duration_s=30)
    print(f"duration 30 s, crash after 6: closed {took_closed:.1f} s, open {took_open:.1f} s")
    for result, took in ((closed, took_closed), (opened, took_open)):
        assert result.stopped_reason.startswith("server_unreachable: 20 requests")
        assert sum(r.success for r in result.records) == 6
        assert len(result.records) < 6 + 20 + 4
        assert took < 20


def test_http_errors_never_stop_the_load() -> None:
    result, _ = run(("good", "http_500"), 60, concurrency=4, max_connect_failures=2)
    assert not result.stopped_reason and len(result.records) == 60
    assert reasons(result) == {"http_500": 30}


def test_zero_means_never_stop() -> None:
    result, _ = run(("good",), 40, {"crash_after": 2}, concurrency=2, max_connect_failures=0)
    assert not result.stopped_reason and len(result.records) == 40 and result.not_sent == 0
