"""Python's full garbage collections, kept out of the engine's steps.

Left to itself, CPython runs a full (oldest-generation) collection inside whichever callback
happens to allocate. With 2,000 open streams one pass walks ~130,000 objects and took 20-70 ms
here, and the step whose deadline fell in it was that late. So objects alive at startup are
frozen out of every pass (`gc.freeze`), the young generations stay automatic (small passes), and
full passes are taken over: one that is due runs when the engine goes idle (nothing running or
waiting), or, under load that never stops, once it has waited `MAX_WAIT_S`, so memory stays
bounded; that costs one late step a minute at most.
"""

from __future__ import annotations

import gc
import time

# a due full collection runs no later than this, idle or not
MAX_WAIT_S = 60.0
# the interpreter's own trigger is pushed out of reach
_NEVER = 1 << 30


class IdleCollector:
    def __init__(self) -> None:
        self._thresholds = gc.get_threshold()
        # gen-1 passes since the last full one that make a full one due (CPython's threshold2)
        self.every = self._thresholds[2]
        self.due_since_ns: int | None = None
        self.passes = 0
        self.forced = 0
        self.longest_ns = 0

    def start(self) -> None:
        """Freeze what exists now and take the full collections over from the interpreter."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(self._thresholds[0], self._thresholds[1], _NEVER)

    def close(self) -> None:
        gc.set_threshold(*self._thresholds)

    def offer(self, idle: bool) -> None:
        """Called when the engine goes idle, and periodically."""
        if gc.get_count()[2] < self.every:
            return
        now = time.monotonic_ns()
        if self.due_since_ns is None:
            self.due_since_ns = now
        overdue = now - self.due_since_ns >= MAX_WAIT_S * 1e9
        if not idle and not overdue:
            return
        gc.collect(2)
        self.longest_ns = max(self.longest_ns, time.monotonic_ns() - now)
        self.passes += 1
        self.forced += not idle
        self.due_since_ns = None

    def stats(self) -> dict[str, float]:
        return {
            "full_passes": self.passes,
            "under_load": self.forced,
            "longest_ms": self.longest_ns / 1e6,
        }
