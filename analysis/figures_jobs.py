"""Figures of chosen jobs: per-request latency CDFs and server time series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.job_files import JobRef, load_requests, load_server_series
from analysis.spec import FigureSpec, Panel, Series

CDF_METRICS: tuple[tuple[str, str], ...] = (
    ("ttft_ms", "TTFT"),
    ("tpot_ms", "TPOT"),
    ("itl_ms", "ITL"),
    ("e2el_ms", "E2EL"),
)
SERVER_PANELS: tuple[tuple[str, str, str], ...] = (
    ("kv_cache_usage_perc", "KV cache usage", "fraction"),
    ("num_requests_waiting", "queue depth (waiting)", "requests"),
    ("num_preemptions", "preemptions (cumulative)", "count"),
)
MAX_CDF_POINTS = 500


def cdf_points(values: np.ndarray) -> tuple[list[float], list[float]]:
    """Sorted values and their cumulative fraction, thinned to at most MAX_CDF_POINTS."""
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        return [], []
    frac = np.arange(1, values.size + 1) / values.size
    if values.size > MAX_CDF_POINTS:
        keep = np.unique(np.linspace(0, values.size - 1, MAX_CDF_POINTS).astype(int))
        values, frac = values[keep], frac[keep]
    return values.tolist(), frac.tolist()


def request_values(requests: pd.DataFrame, column: str) -> np.ndarray:
    """Values of one latency over the measured, successful requests (ITLs concatenated)."""
    ok = requests
    if "success" in ok:
        ok = ok[ok["success"].astype(bool)]
    if "warmup" in ok:
        ok = ok[~ok["warmup"].astype(bool)]
    if column == "itl_ms":
        if "itl_ms" not in ok or ok.empty:
            return np.zeros(0)
        return np.concatenate([np.asarray(x, dtype=float) for x in ok["itl_ms"]])
    if column not in ok:
        return np.zeros(0)
    return ok[column].to_numpy(dtype=float)


def cdf_figure(jobs: list[JobRef]) -> FigureSpec:
    panels = [Panel(title, f"{title} (ms)", "fraction of requests") for _, title in CDF_METRICS]
    missing: list[str] = []
    for ref in jobs:
        requests = load_requests(ref)
        if requests is None:
            missing.append(str(ref.job_num))
            continue
        for panel, (column, _) in zip(panels, CDF_METRICS, strict=True):
            x, y = cdf_points(request_values(requests, column))
            if x:
                panel.series.append(Series(ref.label, x, y, mode="lines"))
    note = f"no requests.parquet for job(s) {', '.join(missing)}" if missing else ""
    return FigureSpec("cdf", "Per-request latency distributions (CDF)", [panels], note)


def server_figure(jobs: list[JobRef]) -> FigureSpec:
    panels = [Panel(title, "seconds", unit) for _, title, unit in SERVER_PANELS]
    missing: list[str] = []
    for ref in jobs:
        series = load_server_series(ref)
        if series is None or series.empty:
            missing.append(str(ref.job_num))
            continue
        for panel, (name, _, _) in zip(panels, SERVER_PANELS, strict=True):
            if name in series:
                column = series[name].dropna()
                panel.series.append(
                    Series(ref.label, column.index.tolist(), column.tolist(), mode="lines")
                )
    note = f"no server metrics for job(s) {', '.join(missing)}" if missing else ""
    return FigureSpec("server", "Server time series", [panels], note)
