"""The clock: absolute deadlines, one timer per step, the cost model."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from launchers.sim.engine_loop import CostModel, EngineLoop
from launchers.sim.profiles import DEFAULT, FAST
from launchers.sim.scheduler import Scheduler, SimRequest, StepPlan


def test_cost_model_formula_and_seeded_jitter() -> None:
    plan = StepPlan([], prefill_tokens=1000, decode_seqs=10, kv_tokens=5000)
    exact = CostModel(DEFAULT).step_ns(plan)
    expected_ms = 6.0 + 1000 * 0.03 + 10 * 0.03 + 5000 * 0.00004
    assert abs(exact - expected_ms * 1e6) < 2
    jittery = replace(DEFAULT, jitter=0.2, seed=3)
    assert CostModel(jittery).step_ns(plan) == CostModel(jittery).step_ns(plan)  # seeded
    model = CostModel(jittery)
    draws = [model.step_ns(plan) for _ in range(500)]
    assert len(set(draws)) > 400
    assert 0.95 < sum(draws) / len(draws) / exact < 1.05


def test_steps_follow_absolute_deadlines() -> None:
    params = replace(FAST, step_overhead_ms=1.0, decode_ms_per_seq=0.0, prefill_ms_per_token=0.0)
    engine = EngineLoop(Scheduler(params))
    req = SimRequest("a", 8, 30, "length", arrival_ns=time.monotonic_ns())

    async def run() -> tuple[int, int]:
        start = time.monotonic_ns()
        engine.add(req)
        first_deadline = engine._deadline_ns
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def sink(r: SimRequest) -> None:
            if r.done and not done.done():
                done.set_result(None)

        req.sink = sink
        # a blocking hiccup: the next timers fire late, the deadlines do not move
        time.sleep(0.02)
        await done
        return start, first_deadline

    start, first_deadline = asyncio.run(run())
    assert req.num_output == 30
    # 30 steps of exactly 1 ms each, back to back from the first one
    assert engine._deadline_ns - first_deadline == 29 * 1_000_000
    assert first_deadline - start <= 1_000_000 + 1_000_000  # planned at add time
    assert len(engine.lateness_ns) == 30
    assert max(engine.lateness_ns) >= 15_000_000  # the hiccup shows up as lateness...
    # ...fresh in the step it hit, inherited by the catch-up steps after it
    fresh = [late - inh for late, inh in zip(engine.lateness_ns, engine.inherited_ns, strict=True)]
    assert max(fresh) >= 15_000_000
    assert max(engine.inherited_ns) >= 10_000_000
    assert all(
        0 <= inh <= late for late, inh in zip(engine.lateness_ns, engine.inherited_ns, strict=True)
    )
    assert engine.idle  # ...and the engine went idle when the work was done
