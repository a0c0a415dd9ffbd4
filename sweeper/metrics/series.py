"""Per-second series and peaks (output tokens per second, requests in flight)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sweeper.records import RequestRecord

if TYPE_CHECKING:  # pandas is imported where a frame is built: `--help` never needs it
    import pandas as pd


def token_arrivals(records: list[RequestRecord]) -> tuple[np.ndarray, np.ndarray]:
    """(arrival ns, tokens) of every content chunk of `records`."""
    times = [t for r in records for t in r.chunk_times_ns]
    tokens = [k for r in records for k in r.chunk_tokens]
    return np.asarray(times, dtype=np.int64), np.asarray(tokens, dtype=np.int64)


def peak_concurrency(intervals: list[tuple[int, int]]) -> int:
    """Most intervals [start, end) open at once (an end at t closes before a start at t)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


def max_output_tokens_per_s(successful: list[RequestRecord]) -> float:
    """vLLM's peak: output tokens in whole-second buckets from the first successful send."""
    if not successful:
        return 0.0
    t0 = min(r.t_send_ns for r in successful)
    times, tokens = token_arrivals(successful)
    if len(times) == 0:
        return 0.0
    buckets = (times - t0) // 1_000_000_000
    return float(np.bincount(buckets, weights=tokens).max())


def per_second(records: list[RequestRecord], t0_ns: int, t1_ns: int) -> pd.DataFrame:
    """One row per second since `t0_ns` (step = whole seconds): requests sent, completed, failed,
    output tokens arrived, and `in_flight` = the time-averaged number of requests in flight."""
    seconds = max(1, math.ceil((max(t1_ns, t0_ns) - t0_ns) / 1e9))
    ns = 1_000_000_000

    def count(stamps: list[int], weights: np.ndarray | None = None) -> np.ndarray:
        arr = np.asarray(stamps, dtype=np.int64)
        idx = np.clip((arr - t0_ns) // ns, 0, seconds - 1) if len(arr) else arr
        return np.bincount(idx, weights=weights, minlength=seconds)[:seconds]

    sent = count([r.t_send_ns for r in records])
    completed = count([r.t_end_ns for r in records if r.success])
    failed = count([r.t_end_ns for r in records if not r.success])
    times, tokens = token_arrivals(records)
    out_tokens = count(times.tolist(), tokens.astype(float))
    # integral of the in-flight step function over each second
    busy = np.zeros(seconds)
    for r in records:
        start = max(r.t_send_ns, t0_ns) - t0_ns
        end = min(max(r.t_end_ns, r.t_send_ns), t1_ns) - t0_ns
        if end <= start:
            continue
        first, last = start // ns, min((end - 1) // ns, seconds - 1)
        if first == last:
            busy[first] += end - start
            continue
        busy[first] += (first + 1) * ns - start
        busy[first + 1 : last] += ns
        busy[last] += end - last * ns
    import pandas as pd

    return pd.DataFrame(
        {
            "step": np.arange(seconds),
            "sent": sent.astype(int),
            "completed": completed.astype(int),
            "failed": failed.astype(int),
            "output_tokens": out_tokens.astype(int),
            "in_flight": busy / ns,
        }
    )
