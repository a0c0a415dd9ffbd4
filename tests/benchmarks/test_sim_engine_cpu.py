"""CPU cost of the engine itself (schedule + apply one step + metrics), without HTTP, for
2,000 running sequences. Prints µs per step and per sequence; the HTTP side adds one chunk write
per sequence (see test_sim_lateness.py)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from launchers.sim.profiles import FAST
from launchers.sim.prom_metrics import SimMetrics
from launchers.sim.scheduler import Scheduler, SimRequest

SEQS = 2000


@pytest.mark.benchmark
def test_engine_step_cpu_cost() -> None:
    # a pool large enough that nobody is preempted: 2,000 × (256 + 200) tokens
    params = replace(FAST, max_num_seqs=2048, max_num_batched_tokens=1 << 20, num_gpu_blocks=60_000)
    scheduler = Scheduler(params)
    SimMetrics(scheduler, "m", "fast")  # observes on the hot path like the server does
    for i in range(SEQS):
        scheduler.add(SimRequest(str(i), 256, 10_000, "length", arrival_ns=0))
    now = 0
    scheduler.finish_step(scheduler.schedule(now), now + 1)  # prefill everyone
    steps = 200
    wall0, cpu0 = time.perf_counter_ns(), time.process_time_ns()
    for _ in range(steps):
        now += 1_000_000
        plan = scheduler.schedule(now)
        scheduler.finish_step(plan, now)
    cpu_us = (time.process_time_ns() - cpu0) / steps / 1e3
    wall_us = (time.perf_counter_ns() - wall0) / steps / 1e3
    print(
        f"\n[sim engine] {SEQS} running sequences: {cpu_us:,.0f} µs CPU per step "
        f"({cpu_us / SEQS * 1e3:,.0f} ns per sequence) for schedule + apply + metrics; "
        f"{wall_us:,.0f} µs wall (the difference: other processes had the CPU)"
    )
    assert len(plan.scheduled) == SEQS and plan.decode_seqs == SEQS
