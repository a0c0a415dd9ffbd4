"""Open-loop rate accuracy: Poisson arrivals at 50 and 200 req/s over 2,000 requests against the
simulator (`fast` profile). Prints the achieved send rate (requests / time of the last send),
its error against the requested rate (target within 1 %) and the send lateness percentiles.

    python -m pytest tests/benchmarks/test_client_rate.py -m benchmark -s
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sweeper.client.config import LoadConfig
from sweeper.client.runner import run_benchmark
from sweeper.datasets import sample
from sweeper.datasets.kinds.random import RandomDatasetConfig
from sweeper.metrics import summarize
from sweeper.schema import SloConfig
from tests.helpers.sim import running_sim

pytestmark = pytest.mark.benchmark

RATES = [50.0, 200.0]
NUM = 2000


def test_poisson_rate_accuracy() -> None:
    rows = []
    with running_sim("--profile", "fast") as sim:
        specs = sample(RandomDatasetConfig(input_len=32, output_len=16, seed=2), NUM, None)
        for rate in RATES:
            load = LoadConfig(request_rate=rate, num_prompts=NUM, seed=11, progress=False)
            run = asyncio.run(run_benchmark(sim.base, "sim-model", specs, load))
            s = summarize(run, SloConfig(), [50, 99])
            x = s["sweeper"]
            sends = np.array(sorted(r.t_send_ns for r in run.records))
            send_rate = NUM / ((sends[-1] - run.t_start_ns) / 1e9)
            rows.append((rate, s["completed"], x["send_rate"], x["send_rate_error_pct"],
                         100 * (send_rate - rate) / rate, x["p50_send_lateness_ms"],
                         x["p99_send_lateness_ms"], x["max_send_lateness_ms"],
                         x.get("p99_loop_lag_ms", float("nan")), s["duration"]))  # fmt: skip
    print(f"\nPoisson rate accuracy, {NUM} requests each (sim fast profile)")
    print(
        f"{'rate':>6} {'done':>5} {'dispatch rate':>13} {'err %':>7} {'send err %':>10}"
        f" {'late p50':>8} {'late p99':>8} {'late max':>8} {'lag p99':>7} {'dur s':>6}"
    )
    for rate, done, achieved, err, send_err, p50, p99, mx, lag, dur in rows:
        print(
            f"{rate:>6.0f} {done:>5} {achieved:>13.3f} {err:>7.3f} {send_err:>10.3f}"
            f" {p50:>8.3f} {p99:>8.3f} {mx:>8.3f} {lag:>7.3f} {dur:>6.2f}"
        )
    assert [r[1] for r in rows] == [NUM] * len(RATES)
