"""The lateness split: OS wake-up delay vs the loop's own backlog."""

from __future__ import annotations

import asyncio
import time

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
