"""Arrival timestamps come from the protocol's data_received, not the coroutine's wake-up."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from sweeper.client import LoadConfig, run_benchmark
from sweeper.client import runner as runner_module
from sweeper.client.arrival import ArrivalClock, TimedResponseHandler, install
from sweeper.client.runner import open_session
from sweeper.records import RequestSpec
from tests.unit.client.fake_openai import FakeBehaviour, FakeOpenAI


def test_connector_uses_the_timed_protocol() -> None:
    async def main() -> None:
        async with open_session(LoadConfig(), 2) as session:
            assert session.connector is not None
            assert session.connector._factory.func is TimedResponseHandler  # type: ignore[attr-defined]
            assert install(session.connector) is False  # already installed

    asyncio.run(main())


def test_event_times_come_from_data_received(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's own clock is replaced by a far-future fake: every chunk time must still be
    a real arrival time taken in the protocol's data_received."""
    fake = 10**18
    monkeypatch.setattr(runner_module, "_now", lambda: fake)

    async def main() -> list[int]:
        async with FakeOpenAI(FakeBehaviour(itl_s=0.01, split_events=True)) as server:
            specs = [RequestSpec(prompt="p", prompt_len=1, output_len=3)]
            load = LoadConfig(concurrency=1, progress=False)
            before = time.monotonic_ns()
            run = await run_benchmark(server.base_url, "m", specs, load)
            after = time.monotonic_ns()
            times = run.records[0].chunk_times_ns
            assert all(before < t < after for t in times), times
            return times

    times = asyncio.run(main())
    # split events: each is completed by its second half, written 1 ms after the first
    assert len(times) == 3 and all(b - a >= 10_000_000 for a, b in itertools.pairwise(times))


def test_arrival_clock_maps_offsets_to_reads() -> None:
    clock = ArrivalClock.__new__(ArrivalClock)
    clock._rx, clock._i = [(100, 10), (200, 25), (300, 40)], 0
    assert [clock.at(end, -1) for end in (5, 10, 11, 25, 40, 41)] == [100, 100, 200, 200, 300, -1]
    clock._rx = None
    assert clock.at(3, 7) == 7
