"""The `default` profile's load curve: output tok/s, median TTFT and preemptions at concurrency
1, 8, 32, 128, 512 (256-in / 128-out), with the profile's KV pool and an undersized one.
Prints figures; run with `python -m pytest -m benchmark tests/benchmarks/test_sim_curve.py -s`."""

from __future__ import annotations

import asyncio

import pytest

from tests.benchmarks.sim_bench_support import closed_loop, get_json
from tests.helpers.sim import running_sim

CONCURRENCY = (1, 8, 32, 128, 512)
INPUT_LEN, OUTPUT_LEN = 256, 128


def requests_for(concurrency: int) -> int:
    return max(4, 2 * concurrency)


@pytest.mark.benchmark
@pytest.mark.parametrize(
    ("label", "extra"),
    [
        ("default profile (27,000 KV blocks)", []),
        # 2,000 blocks × 16 = 32k tokens: 128 requests × 384 tokens no longer fit
        (
            "default profile, undersized KV pool (2,000 blocks)",
            ["--num-gpu-blocks", "2000", "--max-model-len", "4096"],
        ),
    ],
)
def test_default_profile_curve(label: str, extra: list[str]) -> None:
    rows = []
    with running_sim("--profile", "default", *extra) as sim:
        base = sim.base
        for concurrency in CONCURRENCY:
            before = get_json(base + "/sim/stats")["preemptions"]
            result = asyncio.run(
                closed_loop(base, concurrency, requests_for(concurrency), INPUT_LEN, OUTPUT_LEN)
            )
            stats = get_json(base + "/sim/stats")
            rows.append((concurrency, result, stats["preemptions"] - before, stats))
            assert result.output_tokens == requests_for(concurrency) * OUTPUT_LEN
    print(f"\n[sim curve] {label}, {INPUT_LEN}-in/{OUTPUT_LEN}-out, closed loop")
    print("[sim curve] concurrency  requests  out tok/s  median TTFT ms  preemptions")
    for concurrency, result, preemptions, _ in rows:
        print(
            f"[sim curve] {concurrency:>11}  {result.completed:>8}  {result.output_tok_s:>9,.0f}"
            f"  {result.median_ttft_ms:>14.1f}  {preemptions:>11}"
        )
    late = rows[-1][3]["lateness_ms"]
    print(
        f"[sim curve] step lateness over the run: p50 {late['p50']:.3f} ms, "
        f"p99 {late['p99']:.3f} ms"
    )
    throughput = [r.output_tok_s for _, r, _, _ in rows]
    ttft = [r.median_ttft_ms for _, r, _, _ in rows]
    # the shape the simulator promises: throughput rises, TTFT climbs past max_num_seqs (256)
    assert throughput[2] > 4 * throughput[0]
    assert ttft[-1] > 5 * ttft[0]
    if extra:
        assert sum(p for _, _, p, _ in rows) > 0
