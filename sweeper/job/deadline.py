"""The job deadline (`job_timeout_s`): one clock for the whole job, checked between its phases
and bounding the benchmark with `asyncio.wait_for` inside the client's own event loop (no
thread touches the loop)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from instruments.errors import SweeperError

if TYPE_CHECKING:  # (the sender imports aiohttp: a job imports it while its server starts)
    from sweeper.client.sender import StopAt

T = TypeVar("T")

# how long after the deadline a client that did not stop by itself is cancelled (records lost)
DEADLINE_GRACE_S = 10.0


class JobTimeout(SweeperError):
    """The job ran past `job_timeout_s`."""


@dataclass
class Deadline:
    timeout_s: float | None
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        """Seconds left (never below 0); None without a deadline."""
        if self.timeout_s is None:
            return None
        return max(0.0, self.started + self.timeout_s - time.monotonic())

    def expired(self, where: str) -> JobTimeout:
        return JobTimeout(f"job_timeout_s={self.timeout_s:g} reached {where}")

    def check(self, where: str) -> None:
        """Raise JobTimeout when the deadline has passed (`where`: which phase ended late)."""
        if self.remaining() == 0.0:
            raise self.expired(where)

    def stop_at(self, where: str) -> StopAt | None:
        """The deadline for the client, which stops there itself and keeps its records."""
        from sweeper.client.sender import StopAt

        left = self.remaining()
        if left is None:
            return None
        return StopAt(time.monotonic_ns() + int(left * 1e9), str(self.expired(where)))

    async def bound(self, work: Coroutine[Any, Any, T], where: str, grace_s: float = 0.0) -> T:
        """Await `work`, cancelled `grace_s` after the deadline (then JobTimeout; a
        TimeoutError of `work`'s own passes through as it is)."""
        left = self.remaining()
        scope = asyncio.timeout(None if left is None else left + grace_s)
        try:
            async with scope:
                return await work
        except TimeoutError:
            if scope.expired():
                raise self.expired(where) from None
            raise
