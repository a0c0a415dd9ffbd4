"""Does the simulator keep up? Step lateness against absolute deadlines with 2,000 concurrent
streams on the `fast` profile (target: p99 < 2 ms). Prints figures; run with
`python -m pytest -m benchmark tests/benchmarks/test_sim_lateness.py -s`."""

from __future__ import annotations

import asyncio
import os
from contextlib import nullcontext

import pytest

from tests.benchmarks.sim_bench_support import (
    LoadResult,
    closed_loop,
    cpus_apart,
    get_json,
    load_average,
    post,
    timer_floor,
)
from tests.helpers.sim import running_sim

STREAMS = 2000
BURST_S = 3.0


@pytest.mark.benchmark
@pytest.mark.parametrize("apart", [False, True], ids=["shared-cpus", "cpus-apart"])
@pytest.mark.parametrize(
    ("label", "extra", "requests", "output_len"),
    [
        ("fast (max_num_seqs 256, the rest queued)", [], 2 * STREAMS, 128),
        ("fast, max_num_seqs 2048 (all 2000 running)", ["--max-num-seqs", "2048"], STREAMS, 128),
    ],
)
def test_step_lateness_2000_streams(
    label: str, extra: list[str], requests: int, output_len: int, apart: bool
) -> None:
    """`cpus-apart`: the simulator on its own core (`--cpus`), the load driver on the others."""
    with cpus_apart() if apart else nullcontext([]) as pin:
        run_case(f"{label}, {'simulator on its own CPU' if apart else 'CPUs shared'}",
                 [*extra, *pin], requests, output_len)  # fmt: skip


def run_case(label: str, extra: list[str], requests: int, output_len: int) -> None:
    with running_sim("--profile", "fast", *extra) as sim:
        base = sim.base
        post(base + "/sim/stats/reset")
        start = get_json(base + "/sim/stats")

        async def run() -> tuple[LoadResult, dict]:
            async def burst_then_reset() -> dict:
                # the first seconds hold the arrival burst of 2,000 requests; report them apart
                await asyncio.sleep(BURST_S)
                stats = await asyncio.to_thread(get_json, base + "/sim/stats?samples=1")
                await asyncio.to_thread(post, base + "/sim/stats/reset")
                return stats

            return await asyncio.gather(
                closed_loop(base, STREAMS, requests, 256, output_len), burst_then_reset()
            )

        with timer_floor(BURST_S + 2.0) as floor:
            result, burst = asyncio.run(run())
        steady = get_json(base + "/sim/stats?samples=1")
    print(
        f"\n[sim lateness] {label}: {STREAMS} concurrent streams, {result.completed} requests "
        f"in {result.duration_s:.1f} s, {result.output_tok_s:,.0f} out tok/s; load average "
        f"{load_average()}; simulator nice {os.environ.get('SIM_BENCH_NICE', '0')}"
    )
    cpu = steady["process_cpu_s"] - start["process_cpu_s"]
    wall = steady["uptime_s"] - start["uptime_s"]
    print(
        f"[sim lateness]   simulator CPU: {cpu:.1f} s over {wall:.1f} s = {100 * cpu / wall:.0f} % "
        f"of one core ({1e6 * cpu / result.output_tokens:.1f} µs per streamed token, all included)"
    )
    for name, stats in ((f"first {BURST_S:.0f} s (arrival burst)", burst), ("after", steady)):
        print(f"[sim lateness]   {name}: {stats['lateness_samples']} steps (target p99 < 2 ms)")
        for what, key in (
            ("step lateness", "lateness_ms"),
            ("  inherited (catch-up)", "inherited_ms"),
            ("  fresh", "fresh_lateness_ms"),
            ("    fresh: OS wake-up delay", "os_wake_delay_ms"),
            ("    fresh: loop backlog", "loop_backlog_ms"),
        ):
            late = stats[key]
            print(
                f"[sim lateness]     {what:<28} ms: p50 {late['p50']:8.3f}  p90 {late['p90']:8.3f}"
                f"  p99 {late['p99']:8.3f}  max {late['max']:8.3f}"
            )
    whole = sorted(burst["lateness_samples_ms"] + steady["lateness_samples_ms"])
    at = {q: whole[min(len(whole) - 1, int(q * len(whole)))] for q in (0.5, 0.9, 0.99)}
    print(
        f"[sim lateness]   whole run: {len(whole)} steps, step lateness ms: p50 {at[0.5]:8.3f}"
        f"  p90 {at[0.9]:8.3f}  p99 {at[0.99]:8.3f}  max {whole[-1]:8.3f}"
    )
    print(
        f"[sim lateness]   control: an idle asyncio timer loop in another process during the "
        f"first {BURST_S + 2.0:.0f} s: p50 {floor['p50']:.3f}  p90 {floor['p90']:.3f}  "
        f"p99 {floor['p99']:.3f}  max {floor['max']:.3f} ms"
    )
    assert result.completed == requests
    assert result.output_tokens == requests * output_len
    assert steady["lateness_samples"] > 0
