"""Arrival schedules: absolute send offsets (seconds from the start), computed before the run.

Offsets are cumulative sums of the inter-arrival draws, so the schedule cannot drift: the
scheduler sleeps until `t_start + offset[i]`, never "a gap after the previous send".
"""

from __future__ import annotations

import math

import numpy as np

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig

RAMP_STRATEGIES = ("linear", "exponential")


def check_load(load: LoadConfig) -> None:
    """One-line ConfigError naming the bad `load.*` key."""
    if load.concurrency is not None and load.concurrency < 1:
        raise ConfigError(f"load.concurrency: must be >= 1 or null, got {load.concurrency}")
    if not load.request_rate > 0:
        raise ConfigError(f"load.request_rate: must be > 0 (or inf), got {load.request_rate}")
    if not load.burstiness > 0:
        raise ConfigError(f"load.burstiness: must be > 0, got {load.burstiness}")
    if load.schedule not in ("rate", "trace"):
        raise ConfigError(f"load.schedule: must be 'rate' or 'trace', got {load.schedule!r}")
    if load.trace_speedup <= 0:
        raise ConfigError(f"load.trace_speedup: must be > 0, got {load.trace_speedup}")
    if load.num_prompts < 1 and load.duration_s is None:
        raise ConfigError(f"load.num_prompts: must be >= 1, got {load.num_prompts}")
    if load.duration_s is not None and not load.duration_s > 0:
        raise ConfigError(f"load.duration_s: must be > 0 or null, got {load.duration_s}")
    if load.duration_s is not None and (load.ramp_up_strategy or load.schedule == "trace"):
        what = "ramp_up_strategy" if load.ramp_up_strategy else "schedule=trace"
        raise ConfigError(f"load.duration_s: cannot be combined with load.{what}")
    if load.warmup_requests < 0 or load.warmup_s < 0:
        raise ConfigError("load.warmup_requests / load.warmup_s: must be >= 0")
    if load.ramp_up_strategy is not None:
        if load.ramp_up_strategy not in RAMP_STRATEGIES:
            raise ConfigError(
                f"load.ramp_up_strategy: must be one of {RAMP_STRATEGIES} or null, "
                f"got {load.ramp_up_strategy!r}"
            )
        lo, hi = load.ramp_up_start_rps, load.ramp_up_end_rps
        if lo is None or hi is None or not (lo > 0 and hi > 0):
            raise ConfigError(
                "load.ramp_up_start_rps / load.ramp_up_end_rps: both must be > 0 with a ramp-up"
            )
    if load.workers < 1:
        raise ConfigError(f"load.workers: must be >= 1, got {load.workers}")
    if load.workers > 1 and load.concurrency is not None and load.concurrency < load.workers:
        raise ConfigError(
            f"load.workers: {load.workers} workers need concurrency >= workers "
            f"(got {load.concurrency})"
        )
    if load.request_timeout_s <= 0:
        raise ConfigError(f"load.request_timeout_s: must be > 0, got {load.request_timeout_s}")


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
