"""An epoll selector that sleeps to the deadline, not to the next whole millisecond, and remembers
when the event loop went to sleep and when it woke up.

epoll counts its timeout in whole milliseconds and Python rounds it up, so a loop whose next timer
is 25.1 ms away sleeps 26 ms: every step would end up to 1 ms late for no reason but arithmetic.
This selector sleeps the whole milliseconds in epoll (waking for any I/O) and, if nothing came,
the sub-millisecond rest in `time.sleep` (nanosecond clock; I/O waits at most that rest).

With the timestamps the engine splits each step's lateness into the part the operating system owes
(the loop was asleep at the deadline and woke late: timer slack, a busy CPU) and the part the
simulator owes (the loop was busy with other callbacks when the deadline passed). Used through
`asyncio.SelectorEventLoop(TimedSelector())`, a public constructor argument.
"""

from __future__ import annotations

import selectors
import time
from typing import Any


class TimedSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.entered_ns = 0
        self.returned_ns = 0

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        self.entered_ns = start = time.monotonic_ns()
        if timeout is None or timeout <= 0:
            ready = super().select(timeout)
        else:
            whole_ms = int(timeout * 1e3)
            # just under whole_ms, which the base class rounds up to exactly whole_ms
            ready = super().select(whole_ms / 1e3 - 1e-7 if whole_ms else 0)
            if not ready:
                rest_ns = start + int(timeout * 1e9) - time.monotonic_ns()
                if rest_ns > 0:
                    time.sleep(rest_ns / 1e9)
                    ready = super().select(0)
        self.returned_ns = time.monotonic_ns()
        return ready

    def wake_delay_ns(self, deadline_ns: int) -> int:
        """How late the last sleep ended past `deadline_ns`, if the loop was asleep at it."""
        if self.entered_ns < deadline_ns <= self.returned_ns:
            return self.returned_ns - deadline_ns
        return 0
