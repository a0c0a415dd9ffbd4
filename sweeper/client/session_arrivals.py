"""When sessions start (closed loop, arrivals at a rate, a trace's own times) and which load
keys a session run refuses."""

from __future__ import annotations

import numpy as np

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig
from sweeper.records import SessionSpec


def check_session_load(load: LoadConfig) -> None:
    """Load keys that have no meaning for sessions fail in one line."""
    load.validate()
    for key, bad in (
        ("warmup_requests", load.warmup_requests > 0),
        ("warmup_s", load.warmup_s > 0),
        ("workers", load.workers > 1),
        ("ramp_up_strategy", load.ramp_up_strategy is not None),
    ):
        if bad:
            raise ConfigError(
                f"load.{key}: not supported with a multi-turn dataset (see load.sessions.*)"
            )


def session_offsets(load: LoadConfig, sessions: list[SessionSpec]) -> np.ndarray | None:
    """Start offsets (s) of an open loop: the trace's (schedule=trace), or gamma arrivals at
    request_rate sessions/s; None for the closed loop."""
    if load.schedule == "trace":
        if any(s.arrival_s is None for s in sessions):
            raise ConfigError("load.schedule: trace needs a dataset with session start times")
        return np.asarray([(s.arrival_s or 0.0) / load.trace_speedup for s in sessions])
    if np.isinf(load.request_rate):
        return None
    rng = np.random.default_rng(load.seed)
    shape = load.burstiness
    if np.isinf(shape):
        gaps = np.full(len(sessions), 1.0 / load.request_rate)
    else:
        gaps = rng.gamma(shape, 1.0 / (load.request_rate * shape), len(sessions))
    return np.cumsum(gaps)
