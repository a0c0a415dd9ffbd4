"""`load.schedule=rate`: an open loop at `request_rate` (Poisson or gamma gaps, optionally
ramped), all at once (rate=inf, capped by concurrency), or a closed loop for `duration_s`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from instruments.errors import ConfigError
from sweeper.client.schedules import SCHEDULES, SendSchedule
from sweeper.records import RequestSpec

if TYPE_CHECKING:
    from sweeper.client.config import LoadConfig


@SCHEDULES.register("rate")
def rate_schedule(load: LoadConfig, requests: list[RequestSpec]) -> SendSchedule:
    if load.duration_s is None:
        offsets = rate_offsets(load, len(requests))
        return SendSchedule(offsets, len(offsets), closed_duration=False)
    if not math.isinf(load.request_rate):
        offsets = duration_offsets(load, load.duration_s)
        return SendSchedule(offsets, len(offsets), closed_duration=False)
    if load.concurrency is None:
        raise ConfigError("load.duration_s: a closed loop (request_rate=inf) needs concurrency")
    return SendSchedule(np.zeros(0), 0, closed_duration=True)


def rate_at(load: LoadConfig, index: int, total: int) -> float:
    """The request rate in force for request `index` of `total` (vLLM's ramp-up formula)."""
    if load.ramp_up_strategy is None:
        return load.request_rate
    lo = float(load.ramp_up_start_rps or 0.0)
    hi = float(load.ramp_up_end_rps or 0.0)
    progress = index / max(total - 1, 1)
    if load.ramp_up_strategy == "linear":
        return lo + (hi - lo) * progress
    return lo * (hi / lo) ** progress


def rate_offsets(load: LoadConfig, count: int) -> np.ndarray:
    """Send offsets (s) for `count` requests of an open-loop schedule; zeros for rate=inf.

    Gaps are gamma(shape=burstiness, scale=1/(rate*burstiness)), seeded by load.seed. Without a
    ramp the offsets are rescaled so the last one is exactly count/rate (vLLM does the same, so
    the achieved rate does not depend on the seed's luck).
    """
    if count <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(load.seed)
    rates = np.array([rate_at(load, i, count) for i in range(count)], dtype=float)
    if load.ramp_up_strategy is None and math.isinf(load.request_rate):
        return np.zeros(count)
    if math.isinf(load.burstiness):
        gaps = 1.0 / rates
    else:
        gaps = rng.gamma(shape=load.burstiness, size=count) / (rates * load.burstiness)
    offsets = np.cumsum(gaps)
    if load.ramp_up_strategy is None and offsets[-1] > 0:
        offsets *= (count / load.request_rate) / offsets[-1]
    return offsets


def duration_offsets(load: LoadConfig, duration_s: float) -> np.ndarray:
    """Offsets (s) of every arrival before `duration_s` for an open-loop rate (no ramp)."""
    if math.isinf(load.request_rate):
        raise ConfigError("load.duration_s: needs a finite request_rate or a concurrency cap")
    rng = np.random.default_rng(load.seed)
    expected = int(duration_s * load.request_rate * 1.2) + 16
    chunks: list[np.ndarray] = []
    last = 0.0
    while last < duration_s:
        if math.isinf(load.burstiness):
            gaps = np.full(expected, 1.0 / load.request_rate)
        else:
            gaps = rng.gamma(load.burstiness, size=expected) / (load.request_rate * load.burstiness)
        part = last + np.cumsum(gaps)
        chunks.append(part)
        last = float(part[-1])
    offsets = np.concatenate(chunks)
    return offsets[offsets < duration_s]
