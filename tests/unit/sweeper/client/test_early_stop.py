"""The early stop in the client's loop against an in-process fake server: an open loop far
above what its concurrency cap lets through stops sending, keeps every record it sent, and
says why; one the cap keeps up with runs to its end."""

from __future__ import annotations

import asyncio

from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.early_stop import SATURATED, EarlyStop
from sweeper.client.runner import run_benchmark
from sweeper.metrics.saturation import SaturationConfig
from sweeper.records import RequestSpec
from tests.unit.sweeper.client.fake_openai import FakeBehaviour, FakeOpenAI

QUICK = SaturationConfig(check_interval_s=0.1, min_check_s=1.0, windows=10)


def run(rate: float, n: int, concurrency: int) -> BenchmarkRun:
    specs = [RequestSpec(prompt=f"p{i}", prompt_len=2, output_len=2) for i in range(n)]
    load = LoadConfig(request_rate=rate, concurrency=concurrency, num_prompts=n, progress=False)

    async def main() -> BenchmarkRun:
        async with FakeOpenAI(FakeBehaviour(ttft_s=0.05, itl_s=0.001)) as server:
            early = EarlyStop(QUICK, open_loop=True)
            return await run_benchmark(server.base_url, "fake", specs, load, early_stop=early)

    return asyncio.run(main())


def test_open_loop_past_its_cap_stops_early_and_keeps_its_records() -> None:
    # 2 slots of ~55 ms: ~36 requests/s get through; 150/s are asked for
    run_ = run(rate=150.0, n=600, concurrency=2)
    assert run_.stopped_reason.startswith(SATURATED + "backlog grew")
    assert run_.not_sent > 0 and len(run_.records) + run_.not_sent == 600
    assert all(r.success for r in run_.records)  # the ones in flight finished


def test_open_loop_within_its_cap_runs_to_the_end() -> None:
    run_ = run(rate=10.0, n=20, concurrency=4)
    assert run_.stopped_reason == "" and run_.not_sent == 0 and len(run_.records) == 20
