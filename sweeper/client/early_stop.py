"""The early stop of a saturated job: a task in the client's event loop that wakes once every
`saturation.check_interval_s`, reads counters (requests released by the schedule, requests
done, the latest /metrics scrape's waiting queue by a string scan) and, once the trend test of
`sweeper.metrics.saturation.counter_verdict` says the job is saturated, stops the sender: no more
requests are sent, those in flight finish, every record is kept. Nothing here touches a record
or a DataFrame; one check costs microseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sweeper.client.schedules import SendSchedule
from sweeper.metrics.saturation import SaturationConfig, counter_verdict, waiting_from_text

if TYPE_CHECKING:  # (the sender imports aiohttp; a job imports it ahead: sweeper.job.run)
    from sweeper.client.sender import Sender

_now = time.monotonic_ns

# the stop reason of a saturated job (`BenchmarkRun.stopped_reason`); not a failure
SATURATED = "saturated: "


@dataclass
class EarlyStop:
    cfg: SaturationConfig
    open_loop: bool
    # (t_ns, /metrics text) of the newest scrape, None before the first (the scraper's thread)
    latest_scrape: Callable[[], tuple[int, str] | None] | None = None

    def start(self, sender: Sender, schedule: SendSchedule, t0: int) -> asyncio.Task[None]:
        return asyncio.create_task(self.watch(sender, schedule, t0))

    async def watch(self, sender: Sender, schedule: SendSchedule, t0: int) -> None:
        cfg = self.cfg
        offsets = None if schedule.closed_duration else np.sort(schedule.offsets) * 1e9
        total = None if offsets is None else offsets.size
        cap = sender.load.concurrency
        times: list[int] = []
        backlog: list[float] = []
        queue_t: list[int] = []
        queue: list[float] = []
        while True:
            await asyncio.sleep(cfg.check_interval_s)
            now = _now()
            released = total
            if offsets is not None and self.open_loop:
                released = int(np.searchsorted(offsets, now - t0, side="right"))
            if sender.stop_reason or nothing_left(released, total, sender.done, cap):
                return
            if released is not None:
                times.append(now)
                backlog.append(float(released - sender.done))
            self.read_queue(queue_t, queue)
            if now - t0 < cfg.min_check_s * 1e9:
                continue
            reason = counter_verdict(
                np.asarray(times, dtype=float), np.asarray(backlog),
                np.asarray(queue_t, dtype=float), np.asarray(queue), self.open_loop, cfg,
            )  # fmt: skip
            if reason:
                sender.stop(SATURATED + reason)
                return

    def read_queue(self, times: list[int], values: list[float]) -> None:
        scrape = self.latest_scrape() if self.latest_scrape is not None else None
        if scrape is None or (times and times[-1] == scrape[0]):
            return
        waiting = waiting_from_text(scrape[1])
        if waiting is not None:
            times.append(scrape[0])
            values.append(waiting)


def nothing_left(released: int | None, total: int | None, done: int, cap: int | None) -> bool:
    """Everything is released and at most the requests in flight are still to come: a stop
    would save nothing (a duration-bound closed loop, `total` None, always has more)."""
    if total is None or released is None or released < total:
        return False
    return done + (cap or total) >= total
