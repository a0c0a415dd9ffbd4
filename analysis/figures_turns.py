"""Figures of multi-turn jobs (requests.parquet with `session_id` / `turn`): TTFT and the
server's prefix-cache hit rate against the turn index, one curve per job (its grid coordinates
name the server config), and the CDF of session latency.

Per turn: the median TTFT of the measured, successful requests of that turn index; the hit rate
= sum of the server's cached prompt tokens / sum of prompt tokens (the server's counts; turns
whose server did not report cached tokens are left out). A session's latency is from its first
request's send to its last request's end (think times included), over sessions whose every
request succeeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.figures_jobs import cdf_points
from analysis.job_files import JobRef, load_requests
from analysis.spec import FigureSpec, Panel, Series


def measured_turns(requests: pd.DataFrame) -> pd.DataFrame | None:
    """The measured requests of a session run, or None for a single-shot job."""
    if "turn" not in requests or not (requests["turn"] >= 0).any():
        return None
    rows = requests[requests["turn"] >= 0]
    if "warmup" in rows:
        rows = rows[~rows["warmup"].astype(bool)]
    return rows


def by_turn(rows: pd.DataFrame) -> pd.DataFrame:
    """Per turn index: median TTFT (ms) and prefix-cache hit rate (NaN where not reported)."""
    ok = rows[rows["success"].astype(bool)]
    prompt = ok["server_prompt_len"].astype("Float64").fillna(ok["prompt_len"].astype(float))
    cached = ok["server_cached_tokens"].astype("Float64") if "server_cached_tokens" in ok else None
    frame = pd.DataFrame({"turn": ok["turn"], "ttft_ms": ok["ttft_ms"], "prompt": prompt})
    frame["cached"] = cached if cached is not None else np.nan
    told = frame.dropna(subset=["cached"])
    out = frame.groupby("turn").agg(median_ttft_ms=("ttft_ms", "median"))
    sums = told.groupby("turn")[["cached", "prompt"]].sum()
    out["hit_rate"] = (sums["cached"] / sums["prompt"]).astype(float)
    return out.sort_index()


def session_latencies_ms(rows: pd.DataFrame) -> np.ndarray:
    groups = rows.groupby("session_id")
    whole = groups["success"].all()
    span = (groups["t_end_ns"].max() - groups["t_send_ns"].min()) / 1e6
    return span[whole].to_numpy(dtype=float)


def turn_figures(jobs: list[JobRef]) -> list[FigureSpec]:
    """The turn panels and the session-latency CDF; empty when no job ran sessions."""
    ttft = Panel("median TTFT by turn", "turn index", "TTFT (ms)")
    hits = Panel("prefix-cache hit rate by turn", "turn index", "cached / prompt tokens")
    latency = Panel("session latency", "session latency (ms)", "fraction of sessions")
    for ref in jobs:
        requests = load_requests(ref)
        rows = None if requests is None else measured_turns(requests)
        if rows is None or rows.empty:
            continue
        table = by_turn(rows)
        turns = [float(t) for t in table.index]
        ttft.series.append(Series(ref.label, turns, table["median_ttft_ms"].tolist()))
        rated = table["hit_rate"].dropna()
        if len(rated):
            hits.series.append(Series(ref.label, [float(t) for t in rated.index], rated.tolist()))
        x, y = cdf_points(session_latencies_ms(rows))
        if x:
            latency.series.append(Series(ref.label, x, y, mode="lines"))
    if not ttft.series:
        return []
    return [
        FigureSpec(
            "turns", "Multi-turn sessions: TTFT and prefix-cache hits by turn", [[ttft, hits]]
        ),
        FigureSpec("sessions", "Session latency (CDF)", [[latency]]),
    ]
