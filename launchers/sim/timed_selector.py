"""An epoll selector that remembers when the event loop went to sleep and when it woke up.

With it the engine splits each step's lateness into the part the operating system owes (the loop
was asleep at the deadline and woke late: timer slack, a busy CPU) and the part the simulator owes
(the loop was busy with other callbacks when the deadline passed). Used through
`asyncio.SelectorEventLoop(TimedSelector())`, a public constructor argument.
"""

from __future__ import annotations

import selectors
import time
from typing import Any


class TimedSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self) -> None:
        super().__init__()
        self.entered_ns = 0
        self.returned_ns = 0

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        self.entered_ns = time.monotonic_ns()
        ready = super().select(timeout)
        self.returned_ns = time.monotonic_ns()
        return ready

    def wake_delay_ns(self, deadline_ns: int) -> int:
        """How late the last sleep ended past `deadline_ns`, if the loop was asleep at it."""
        if self.entered_ns < deadline_ns <= self.returned_ns:
            return self.returned_ns - deadline_ns
        return 0
