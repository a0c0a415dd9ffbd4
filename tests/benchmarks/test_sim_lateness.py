"""Does the simulator keep up? Step lateness against absolute deadlines with 2,000 concurrent
streams on the `fast` profile (target: p99 < 2 ms). Prints figures; run with
`python -m pytest -m benchmark tests/benchmarks/test_sim_lateness.py -s`."""

from __future__ import annotations

import asyncio

import pytest
from sim_bench_support import (
    LoadResult,
    closed_loop,
    get_json,
    load_average,
    post,
    sim_server,
    timer_floor,
)

STREAMS = 2000
BURST_S = 3.0


@pytest.mark.benchmark
@pytest.mark.parametrize(
    ("label", "extra", "requests", "output_len"),
    [
        ("fast (max_num_seqs 256, the rest queued)", [], 2 * STREAMS, 128),
        ("fast, max_num_seqs 2048 (all 2000 running)", ["--max-num-seqs", "2048"], STREAMS, 32),
    ],
)
def test_step_lateness_2000_streams(
    label: str, extra: list[str], requests: int, output_len: int
) -> None:
    with sim_server("--profile", "fast", *extra) as base:
        post(base + "/sim/stats/reset")

        async def run() -> tuple[LoadResult, dict]:
            async def burst_then_reset() -> dict:
                # the first seconds hold the arrival burst of 2,000 requests; report them apart
                await asyncio.sleep(BURST_S)
                stats = await asyncio.to_thread(get_json, base + "/sim/stats")
                await asyncio.to_thread(post, base + "/sim/stats/reset")
                return stats

            return await asyncio.gather(
                closed_loop(base, STREAMS, requests, 256, output_len), burst_then_reset()
            )

        with timer_floor(BURST_S + 2.0) as floor:
            result, burst = asyncio.run(run())
        steady = get_json(base + "/sim/stats")
    print(
        f"\n[sim lateness] {label}: {STREAMS} concurrent streams, {result.completed} requests "
        f"in {result.duration_s:.1f} s, {result.output_tok_s:,.0f} out tok/s; load average "
        f"{load_average()}"
    )
    for name, stats in ((f"first {BURST_S:.0f} s (arrival burst)", burst), ("after", steady)):
        late = stats["lateness_ms"]
        print(
            f"[sim lateness]   {name}: {stats['steps']} steps, step lateness ms p50 "
            f"{late['p50']:.3f}  p90 {late['p90']:.3f}  p99 {late['p99']:.3f}  "
            f"max {late['max']:.3f}  (target p99 < 2 ms)"
        )
    print(
        f"[sim lateness]   control: an idle asyncio timer loop in another process during the "
        f"first {BURST_S + 2.0:.0f} s: p50 {floor['p50']:.3f}  p90 {floor['p90']:.3f}  "
        f"p99 {floor['p99']:.3f}  max {floor['max']:.3f} ms"
    )
    assert result.completed == requests
    assert result.output_tokens == requests * output_len
    assert steady["lateness_samples"] > 0 and burst["lateness_samples"] > 0
