"""The lateness split: OS wake-up delay vs the loop's own backlog."""

from __future__ import annotations

import asyncio
import math
import selectors
import time

import pytest

from launchers.sim import timed_selector
from launchers.sim.timed_selector import TimedSelector


def test_wake_delay_only_when_asleep_at_the_deadline() -> None:
    sel = TimedSelector()
    sel.entered_ns, sel.returned_ns = 100, 250
    assert sel.wake_delay_ns(200) == 50  # asleep at 200, woke at 250
    assert sel.wake_delay_ns(90) == 0  # the loop went to sleep after the deadline: backlog
    assert sel.wake_delay_ns(300) == 0  # woke before the deadline: any lateness is backlog
    sel.close()


def test_a_loop_on_the_timed_selector_records_its_sleeps() -> None:
    sel = TimedSelector()
    loop = asyncio.SelectorEventLoop(sel)
    try:
        t0 = time.monotonic_ns()
        loop.run_until_complete(asyncio.sleep(0.02))
    finally:
        loop.close()
    assert sel.entered_ns >= t0
    assert sel.returned_ns - t0 >= 15_000_000


def test_sleeps_whole_ms_in_epoll_and_the_rest_precisely(monkeypatch: pytest.MonkeyPatch) -> None:
    """epoll would round 25.3 ms up to 26: the selector asks it for 25 and sleeps the 0.3.

    The clock is a fake one that epoll advances by exactly what it was asked for, so the split
    does not depend on how promptly a loaded machine wakes the test up."""
    now_ns = [1_000_000_000]
    epoll_timeouts: list[float | None] = []
    sleeps: list[float] = []

    def recording_select(self: selectors.BaseSelector, timeout: float | None = None) -> list:
        epoll_timeouts.append(timeout)
        now_ns[0] += int(math.ceil((timeout or 0) * 1e3) * 1e6)  # epoll waits whole ms
        return []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now_ns[0] += int(seconds * 1e9)

    monkeypatch.setattr(selectors.DefaultSelector, "select", recording_select)
    monkeypatch.setattr(timed_selector.time, "monotonic_ns", lambda: now_ns[0])
    monkeypatch.setattr(timed_selector.time, "sleep", fake_sleep)
    sel = TimedSelector()
    try:
        sel.select(0.0253)
        assert math.ceil(epoll_timeouts[0] * 1e3) == 25  # what epoll is asked for, in ms
        assert epoll_timeouts[1:] == [0]  # a last look for I/O after the precise sleep
        assert len(sleeps) == 1 and sleeps[0] == pytest.approx(0.0003, abs=1e-6)
        assert sel.returned_ns - sel.entered_ns == pytest.approx(25_300_000, abs=1_000)
        epoll_timeouts.clear()
        sel.select(0)  # no timeout: passed through
        assert epoll_timeouts == [0]
    finally:
        sel.close()


def test_never_returns_before_the_timeout() -> None:
    sel = TimedSelector()
    try:
        for timeout in (0.0004, 0.0031, 0.0127):
            t0 = time.monotonic_ns()
            assert sel.select(timeout) == []
            assert time.monotonic_ns() - t0 >= timeout * 1e9
    finally:
        sel.close()
