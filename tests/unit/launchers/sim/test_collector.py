"""Full garbage collections wait for the engine to go idle (or run when long overdue)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from launchers.sim import collector as collector_module
from launchers.sim.collector import IdleCollector
from launchers.sim.engine_loop import EngineLoop
from launchers.sim.profiles import FAST
from launchers.sim.scheduler import Scheduler, SimRequest


@pytest.fixture
def taken_over() -> Iterator[IdleCollector]:
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.start()
    try:
        yield collector
    finally:
        collector.close()
        gc.unfreeze()
    assert gc.get_threshold() == before


def make_full_pass_due(collector: IdleCollector) -> None:
    while gc.get_count()[2] < collector.every:
        gc.collect(1)  # each young pass counts towards the full one, as allocation would


def test_the_interpreter_no_longer_runs_full_passes(taken_over: IdleCollector) -> None:
    assert gc.get_threshold()[2] > 1_000_000
    assert gc.get_threshold()[:2] == taken_over._thresholds[:2]  # young passes stay automatic
    assert gc.get_freeze_count() > 0


def test_a_due_full_pass_waits_for_idle(taken_over: IdleCollector) -> None:
    taken_over.offer(idle=True)
    assert taken_over.passes == 0  # not due yet
    make_full_pass_due(taken_over)
    taken_over.offer(idle=False)
    assert taken_over.passes == 0 and taken_over.due_since_ns is not None
    taken_over.offer(idle=True)
    assert taken_over.passes == 1 and taken_over.forced == 0
    assert gc.get_count()[2] == 0


def test_an_overdue_full_pass_runs_under_load(
    taken_over: IdleCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector_module, "MAX_WAIT_S", 0.01)
    make_full_pass_due(taken_over)
    taken_over.offer(idle=False)
    assert taken_over.passes == 0
    time.sleep(0.02)
    taken_over.offer(idle=False)
    assert taken_over.passes == 1 and taken_over.forced == 1
    assert taken_over.stats()["under_load"] == 1


def test_the_engine_offers_when_it_goes_idle() -> None:
    offers: list[bool] = []

    class Recorder(IdleCollector):
        def offer(self, idle: bool) -> None:
            offers.append(idle)

    params = replace(FAST, step_overhead_ms=0.5, decode_ms_per_seq=0.0, prefill_ms_per_token=0.0)
    engine = EngineLoop(Scheduler(params), collector=Recorder())
    req = SimRequest("a", 8, 5, "length", arrival_ns=time.monotonic_ns())

    async def run() -> None:
        done = asyncio.get_running_loop().create_future()
        req.sink = lambda r: r.done and not done.done() and done.set_result(None)
        engine.add(req)
        await done
        await asyncio.sleep(0.01)

    asyncio.run(run())
    assert engine.idle and offers == [True]  # once, after the last step; none while stepping
