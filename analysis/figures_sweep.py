"""Figures over the grid (one point per run or per repeated grid point): throughput, latency
percentiles, the latency–throughput Pareto frontier and goodput against the SLOs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.grid import GridShape, facet_groups, label_for, x_values
from analysis.knee import knee_series
from analysis.spec import FigureSpec, HLine, Panel, Series

LATENCY_METRICS: tuple[tuple[str, str], ...] = (
    ("ttft", "TTFT"),
    ("tpot", "TPOT"),
    ("itl", "ITL"),
    ("e2el", "E2EL"),
)
PERCENTILES: tuple[str, ...] = ("p50", "p90", "p99")
PARETO_FRONTIER = "Pareto frontier"
# helper columns added by `sweep_figures`
X_COL = "_x"
LABEL_COL = "_label"
PCT_DASH: dict[str, str] = {"p50": "solid", "p90": "dash", "p99": "dot"}
GPU_PARAMS: tuple[str, ...] = (
    "params.server.tensor_parallel_size",
    "params.server.pipeline_parallel_size",
    "params.server.data_parallel_size",
)


def percentile_column(frame: pd.DataFrame, pct: str, metric: str) -> str | None:
    for name in (
        f"metrics.{pct}_{metric}_ms",
        f"metrics.median_{metric}_ms" if pct == "p50" else "",
    ):
        if name in frame.columns:
            return name
    return None


def curves(
    frame: pd.DataFrame, shape: GridShape, y: str, suffix: str = "", dash: str = "solid"
) -> list[Series]:
    """One series per label of `shape.series`: mean y per x (± std with repeats)."""
    if y not in frame.columns:
        return []
    data = pd.DataFrame(
        {
            "x": frame[X_COL] if X_COL in frame else x_values(frame, shape.x)[0],
            "y": frame[y].to_numpy(dtype=float),
            "label": frame[LABEL_COL] if LABEL_COL in frame else label_for(frame, shape.series),
            "job": frame["job_num"].to_numpy(),
        }
    )
    data = data[np.isfinite(data["y"])]
    if data.empty:
        return []
    stats = data.groupby(["label", "x"], sort=False)["y"].agg(["mean", "std", "size"])
    jobs: dict[tuple[object, float], list[str]] = {}
    for key, job in zip(zip(data["label"], data["x"], strict=True), data["job"], strict=True):
        jobs.setdefault(key, []).append(str(job))
    out: list[Series] = []
    for label in dict.fromkeys(data["label"]):
        agg = stats.loc[label].sort_index()
        name = f"{label}{suffix}" if label != "all" or not suffix else suffix.strip(" ()")
        error = agg["std"].fillna(0.0).tolist() if (agg["size"] > 1).any() else None
        out.append(
            Series(
                name=name,
                x=agg.index.tolist(),
                y=agg["mean"].tolist(),
                dash=dash,
                hover=[f"jobs {','.join(jobs[(label, x)])}" for x in agg.index],
                error=error,
            )
        )
    return out


def x_note(frame: pd.DataFrame, shape: GridShape) -> str:
    return x_values(frame, shape.x)[1]


def wide_range(frame: pd.DataFrame, shape: GridShape) -> bool:
    """Log-2 x axis when the load spans a factor of 8 or more (1, 8, 32 ...)."""
    xs = x_values(frame, shape.x)[0]
    xs = xs[np.isfinite(xs)]
    return bool(xs.size and xs.min() > 0 and xs.max() / xs.min() >= 8)


def load_panel(
    frame: pd.DataFrame, shape: GridShape, title: str, y_label: str, series: list[Series]
) -> Panel:
    return Panel(title, shape.x_label, y_label, series, log_x=wide_range(frame, shape))


def throughput_figure(frame: pd.DataFrame, shape: GridShape) -> FigureSpec:
    rows: list[list[Panel]] = []
    for facet_label, sub in facet_groups(frame, shape.facet):
        head = f"{facet_label}: " if facet_label else ""
        rows.append(
            [
                load_panel(
                    frame,
                    shape,
                    f"{head}output throughput",
                    "output tok/s",
                    curves(sub, shape, "metrics.output_throughput")
                    + knee_series(sub, shape, "metrics.output_throughput", facet_label),
                ),
                load_panel(
                    frame,
                    shape,
                    f"{head}request throughput",
                    "requests/s",
                    curves(sub, shape, "metrics.request_throughput"),
                ),
            ]
        )
    return FigureSpec("throughput", f"Throughput vs {shape.x_label}", rows, x_note(frame, shape))


def latency_figure(frame: pd.DataFrame, shape: GridShape) -> FigureSpec:
    rows: list[list[Panel]] = []
    for facet_label, sub in facet_groups(frame, shape.facet):
        head = f"{facet_label}: " if facet_label else ""
        row: list[Panel] = []
        for metric, title in LATENCY_METRICS:
            series: list[Series] = []
            for pct in PERCENTILES:
                column = percentile_column(sub, pct, metric)
                if column is not None:
                    series += curves(sub, shape, column, suffix=f" ({pct})", dash=PCT_DASH[pct])
            row.append(load_panel(frame, shape, f"{head}{title}", f"{title} (ms)", series))
        rows.append(row)
    return FigureSpec(
        "latency", f"Latency percentiles vs {shape.x_label}", rows, x_note(frame, shape)
    )


def gpus_per_run(frame: pd.DataFrame) -> np.ndarray:
    gpus = np.ones(len(frame))
    for column in GPU_PARAMS:
        if column in frame.columns:
            gpus *= pd.to_numeric(frame[column], errors="coerce").fillna(1).to_numpy(dtype=float)
    return gpus


def pareto_front(x: np.ndarray, y: np.ndarray) -> list[int]:
    """Indices of points no other point beats on both axes (higher is better), by x."""
    order = np.lexsort((-y, -x))
    front: list[int] = []
    best_y = -np.inf
    for i in order:
        if y[i] > best_y:
            front.append(int(i))
            best_y = y[i]
    return sorted(front, key=lambda i: x[i])


def pareto_figure(frame: pd.DataFrame, shape: GridShape) -> FigureSpec:
    """Output tok/s per user (1000 / median TPOT) vs output tok/s per GPU, one marker per run,
    with the frontier over all runs of the panel."""
    row: list[Panel] = []
    for facet_label, sub in facet_groups(frame, shape.facet):
        ok = sub[sub["status"] == "FINISHED"]
        if "metrics.median_tpot_ms" not in ok or "metrics.output_throughput" not in ok:
            continue
        per_user = 1000.0 / ok["metrics.median_tpot_ms"].to_numpy(dtype=float)
        per_gpu = ok["metrics.output_throughput"].to_numpy(dtype=float) / gpus_per_run(ok)
        labels = label_for(ok, shape.series).to_numpy()
        loads, _ = x_values(ok, shape.x)
        jobs = ok["job_num"].to_numpy()
        series: list[Series] = []
        for label in dict.fromkeys(labels):
            mask = labels == label
            series.append(
                Series(
                    name=str(label),
                    x=per_user[mask].tolist(),
                    y=per_gpu[mask].tolist(),
                    mode="markers",
                    hover=[
                        f"job {j}: {shape.x_label}={v:g}"
                        for j, v in zip(jobs[mask], loads[mask], strict=True)
                    ],
                )
            )
        finite = np.isfinite(per_user) & np.isfinite(per_gpu)
        idx = np.flatnonzero(finite)
        front = idx[pareto_front(per_user[finite], per_gpu[finite])] if idx.size else idx
        series.append(
            Series(
                name=PARETO_FRONTIER,
                x=per_user[front].tolist(),
                y=per_gpu[front].tolist(),
                hover=[f"job {jobs[i]}: {labels[i]}, {shape.x_label}={loads[i]:g}" for i in front],
                mode="lines",
                dash="dash",
                color="black",
            )
        )
        title = f"{facet_label}: Pareto" if facet_label else "Pareto frontier"
        row.append(Panel(title, "output tok/s per user", "output tok/s per GPU", series))
    return FigureSpec("pareto", "Latency–throughput trade-off", [row] if row else [])


def slo_values(frame: pd.DataFrame) -> dict[str, list[float]]:
    """SLO bounds set in the runs: {"ttft": [500.0], ...}."""
    found: dict[str, list[float]] = {}
    for metric, _ in LATENCY_METRICS:
        column = f"params.slo.{metric}_ms"
        if column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce").dropna().unique()
            if values.size:
                found[metric] = sorted(float(v) for v in values)
    return found


def goodput_figure(frame: pd.DataFrame, shape: GridShape) -> FigureSpec:
    titles = dict(LATENCY_METRICS)
    slos = slo_values(frame)
    rows: list[list[Panel]] = []
    for facet_label, sub in facet_groups(frame, shape.facet):
        head = f"{facet_label}: " if facet_label else ""
        series = curves(sub, shape, "metrics.request_goodput", suffix=" (goodput)")
        series += curves(
            sub, shape, "metrics.request_throughput", suffix=" (throughput)", dash="dash"
        )
        row = [load_panel(frame, shape, f"{head}goodput", "requests/s", series)]
        for metric, bounds in slos.items():
            lat: list[Series] = []
            for pct in ("p50", "p99"):
                column = percentile_column(sub, pct, metric)
                if column is not None:
                    lat += curves(sub, shape, column, suffix=f" ({pct})", dash=PCT_DASH[pct])
            hlines = [HLine(b, f"SLO {titles[metric]} {b:g} ms") for b in bounds]
            panel = load_panel(
                frame, shape, f"{head}{titles[metric]} vs SLO", f"{titles[metric]} (ms)", lat
            )
            panel.hlines = hlines
            row.append(panel)
        rows.append(row)
    note = "" if slos else "no SLO set (slo.ttft_ms / tpot_ms / e2el_ms): no goodput, throughput"
    return FigureSpec(
        "goodput",
        f"Goodput vs {shape.x_label}",
        rows,
        "; ".join(n for n in (note, x_note(frame, shape)) if n),
    )


def sweep_figures(frame: pd.DataFrame, shape: GridShape) -> list[FigureSpec]:
    # x positions and curve labels computed once for every figure
    computed: dict[str, np.ndarray | pd.Series] = {
        X_COL: x_values(frame, shape.x)[0],
        LABEL_COL: label_for(frame, shape.series),
    }
    frame = frame.assign(**computed)
    figures = [
        throughput_figure(frame, shape),
        latency_figure(frame, shape),
        pareto_figure(frame, shape),
        goodput_figure(frame, shape),
    ]
    keys = [X_COL, LABEL_COL] + ([shape.facet] if shape.facet else [])
    most = int(frame.groupby(keys, dropna=False).size().max()) if len(frame) else 0
    if most > 1:
        for spec in figures[:2] + figures[3:]:
            repeat = f"points: mean of up to {most} runs, bars or band: ±1 std"
            spec.note = "; ".join(n for n in (spec.note, repeat) if n)
    return figures
