"""Load schedules (`load.schedule`): when each request of the measured phase is sent.

A schedule variant is a function `(load, requests) -> SendSchedule` registered in `SCHEDULES`
under its `load.schedule` name, one module per variant in this package (`rate`: the open or
closed loop at `request_rate`, ramp-up included; `trace`: the dataset's own timestamps). Send
offsets are absolute (seconds from the start), computed before the run, so a schedule cannot
drift: the sender sleeps until `t_start + offset[i]`, never "a gap after the previous send".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from instruments.registry import Registry


@dataclass
class SendSchedule:
    """The measured phase: `count` requests at `offsets` (s), or a closed loop for a time."""

    offsets: np.ndarray
    count: int
    closed_duration: bool


# (load: LoadConfig, requests: list[RequestSpec]) -> SendSchedule; LoadConfig is not named here
# because its validate() looks the schedule up in this registry
ScheduleVariant = Callable[..., SendSchedule]

SCHEDULES: Registry[ScheduleVariant] = Registry("schedule", key="load.schedule")
SCHEDULES.discover(__name__)

__all__ = ["SCHEDULES", "ScheduleVariant", "SendSchedule"]
