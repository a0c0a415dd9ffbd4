"""`load.schedule=trace`: replay the requests' own arrival times (a trace dataset's
timestamps), `load.trace_speedup` times faster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from instruments.errors import ConfigError
from sweeper.client.schedules import SCHEDULES, SendSchedule
from sweeper.records import RequestSpec

if TYPE_CHECKING:
    from sweeper.client.config import LoadConfig


@SCHEDULES.register("trace")
def trace_schedule(load: LoadConfig, requests: list[RequestSpec]) -> SendSchedule:
    offsets = trace_offsets([s.arrival_s for s in requests], load.trace_speedup)
    return SendSchedule(offsets, len(offsets), closed_duration=False)


def trace_offsets(arrivals: list[float | None], speedup: float) -> np.ndarray:
    """Offsets (s) from the requests' own `arrival_s`, shifted so the first is at 0."""
    if any(a is None for a in arrivals):
        missing = next(i for i, a in enumerate(arrivals) if a is None)
        raise ConfigError(
            f"load.schedule=trace: request {missing} has no timestamp (use a trace dataset)"
        )
    values = np.asarray(arrivals, dtype=float)
    if len(values) == 0:
        return values
    values = values - values.min()
    return values / speedup
