"""`build_report`: a sweep → PNGs (matplotlib) + one self-contained HTML (plotly) + runs.csv,
optionally logged to the sweep's MLflow parent run under `report/`."""

from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from analysis.errors import AnalysisError
from analysis.figures_jobs import cdf_figure, server_figure
from analysis.figures_sweep import PARETO_FRONTIER, sweep_figures
from analysis.figures_turns import turn_figures
from analysis.grid import GridShape, grid_shape, label_for, short_name, x_values
from analysis.job_files import JobRef
from analysis.knee import knee_lines
from analysis.load_mlflow import DEFAULT_EXPERIMENT, DEFAULT_TRACKING_URI, quote, search_all
from analysis.loader import Sweep, load_sweep
from analysis.render_html import runs_table, write_html
from analysis.render_png import write_png
from analysis.spec import FigureSpec

log = logging.getLogger(__name__)

MAX_DETAIL_JOBS = 12
TABLE_METRICS: tuple[str, ...] = (
    "metrics.output_throughput",
    "metrics.request_throughput",
    "metrics.request_goodput",
    "metrics.median_ttft_ms",
    "metrics.p99_ttft_ms",
    "metrics.median_tpot_ms",
    "metrics.p99_tpot_ms",
    "metrics.median_e2el_ms",
    "metrics.sweeper.saturated",
)
REPORT_ARTIFACT_DIR = "report"


@dataclass
class Report:
    """What `make_report` produced (figures kept for inspection by tests and callers)."""

    html: Path
    pngs: list[Path]
    figures: list[FigureSpec]
    shape: GridShape
    detail_jobs: list[int] = field(default_factory=list)


def job_labels(runs: pd.DataFrame, shape: GridShape) -> pd.Series:
    """ "job 3: concurrency=8, server.profile=fast" — the grid coordinates of each job."""
    keys = (shape.x, *shape.series) + ((shape.facet,) if shape.facet else ())
    coords = label_for(runs, keys)
    return "job " + runs["job_num"].astype(str) + ": " + coords.astype(str)


def detail_jobs(runs: pd.DataFrame, shape: GridShape, chosen: list[int] | None) -> pd.DataFrame:
    """Jobs drawn in the CDF / server panels: the chosen ones, all when few, else the
    highest-load job of each curve."""
    if chosen is not None:
        unknown = sorted(set(chosen) - set(runs["job_num"]))
        if unknown:
            raise AnalysisError(f"--jobs: no job number(s) {unknown} in this sweep")
        return runs[runs["job_num"].isin(chosen)]
    if len(runs) <= MAX_DETAIL_JOBS:
        return runs
    xs, _ = x_values(runs, shape.x)
    ranked = runs.assign(_x=xs, _label=label_for(runs, shape.series))
    top = ranked.sort_values("_x").groupby("_label", sort=False).tail(1)
    return top.head(MAX_DETAIL_JOBS).drop(columns=["_x", "_label"])


def frontier_runs(figures: list[FigureSpec]) -> list[str]:
    """The Pareto-optimal runs (hover texts of the frontier series)."""
    found: list[str] = []
    for spec in figures:
        if spec.key == "pareto":
            for panel in spec.all_panels():
                for series in panel.series:
                    if series.name == PARETO_FRONTIER and series.hover:
                        found += series.hover
    return found


def header_html(sweep: Sweep, shape: GridShape, frontier: list[str]) -> str:
    runs = sweep.runs
    failed = runs[runs["status"] != "FINISHED"]
    parts = [
        f"<p>Source: {html.escape(str(sweep.sweep_run_id or sweep.sweep_dir))} · "
        f"{len(runs)} job(s), {len(failed)} not finished · load axis "
        f"<b>{html.escape(shape.x_label)}</b> · curves by "
        f"{html.escape(', '.join(short_name(c) for c in shape.series) or '—')}"
        + (f" · facets by {html.escape(short_name(shape.facet))}" if shape.facet else "")
        + "</p>"
    ]
    if sweep.simulated:
        parts.insert(
            0,
            "<p class='simulated'>SIMULATED: these numbers come from sweeper's "
            "simulator, not a real model server.</p>",
        )
    finished = runs[runs["status"] == "FINISHED"]
    if knees := knee_lines(finished, shape):
        items = "".join(f"<li>{html.escape(text)}</li>" for text in knees)
        parts.append(f"<p>Knee per server config (saturation.*; red marker):</p><ul>{items}</ul>")
    if frontier:
        items = "".join(f"<li>{html.escape(text)}</li>" for text in frontier)
        parts.append(
            f"<p>Pareto-optimal runs (per-user vs per-GPU output tok/s):</p><ul>{items}</ul>"
        )
    for _, row in failed.iterrows():
        parts.append(
            f"<p class='note'>job {row['job_num']} {row['status']}: "
            f"{html.escape(str(row['error']))}</p>"
        )
    return "".join(parts)


def make_report(
    sweep: Sweep,
    out_dir: Path,
    x: str | None = None,
    facet: str | None = None,
    jobs: list[int] | None = None,
    pngs: bool = True,
) -> Report:
    """Draw every figure of `sweep` into `out_dir`; returns paths and the figure data."""
    runs = sweep.runs
    ok = runs[runs["status"] == "FINISHED"]
    if ok.empty:
        raise AnalysisError(f"sweep {sweep.name}: no finished job to report on")
    shape = grid_shape(ok, x=x, facet=facet)
    chosen = detail_jobs(ok, shape, jobs)
    labels = job_labels(chosen, shape)
    with tempfile.TemporaryDirectory(prefix="sweeper-analysis-") as downloads:
        refs = [
            JobRef(
                int(r["job_num"]),
                label,
                r["job_dir"],
                r["run_id"],
                sweep.tracking_uri,
                downloads,
            )
            for label, (_, r) in zip(labels, chosen.iterrows(), strict=True)
        ]
        figures = [
            *sweep_figures(ok, shape),
            cdf_figure(refs),
            server_figure(refs),
            *turn_figures(refs),
        ]
    if sweep.simulated:
        for spec in figures:
            spec.title = f"{spec.title} [SIMULATED]"
    out_dir.mkdir(parents=True, exist_ok=True)
    png_paths = [p for p in (write_png(f, out_dir) for f in figures) if p] if pngs else []
    table_cols = ["job_num", "overrides", "status", "server_reused"]
    table_cols += [c for c in TABLE_METRICS if c in runs.columns]
    runs.to_csv(out_dir / "runs.csv", index=False)
    title = f"sweeper report: {sweep.name}" + (" [SIMULATED]" if sweep.simulated else "")
    page = write_html(
        figures,
        out_dir / "report.html",
        title,
        runs_table(runs, table_cols),
        header_html(sweep, shape, frontier_runs(figures)),
    )
    return Report(page, png_paths, figures, shape, [r.job_num for r in refs])


def default_out_dir(sweep: Sweep) -> Path:
    if sweep.sweep_dir is not None and sweep.sweep_dir.is_dir():
        return sweep.sweep_dir / REPORT_ARTIFACT_DIR
    return Path("outputs") / "reports" / sweep.name


def log_report(
    out_dir: Path,
    sweep_run_id: str | None = None,
    tracking_uri: str = DEFAULT_TRACKING_URI,
    sweep_dir: Path | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """Log the report files to the sweep's parent run (by id, or found by its sweep dir tag)
    under `report/`; returns the run id."""
    client = MlflowClient(tracking_uri=tracking_uri)
    if sweep_run_id is None:
        if sweep_dir is None:
            raise AnalysisError("log_report needs a sweep run id or a sweep dir")
        exp = client.get_experiment_by_name(experiment)
        found = (
            []
            if exp is None
            else search_all(
                client,
                [exp.experiment_id],
                f"tags.`sweeper.sweep_dir` = {quote(str(sweep_dir))} "
                "and tags.`sweeper.kind` = 'sweep'",
            )
        )
        if not found:
            raise AnalysisError(f"no MLflow sweep run tagged sweeper.sweep_dir={sweep_dir}")
        sweep_run_id = found[0].info.run_id
    client.log_artifacts(sweep_run_id, str(out_dir), artifact_path=REPORT_ARTIFACT_DIR)
    return sweep_run_id


def build_report(
    source: str | Path | Sweep,
    out_dir: Path | None = None,
    *,
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment: str = DEFAULT_EXPERIMENT,
    x: str | None = None,
    facet: str | None = None,
    jobs: list[int] | None = None,
    log_to_mlflow: bool = False,
    sweep_run_id: str | None = None,
) -> Path:
    """Report on a sweep (MLflow sweep run id or name, sweep dir, or a loaded `Sweep`); returns
    the HTML path. With `log_to_mlflow`, the files go to the sweep's parent run too (given by
    `sweep_run_id`, else the run the source names, else the run tagged with the sweep dir)."""
    sweep = source if isinstance(source, Sweep) else load_sweep(source, tracking_uri, experiment)
    target = out_dir if out_dir is not None else default_out_dir(sweep)
    report = make_report(sweep, target, x=x, facet=facet, jobs=jobs)
    if log_to_mlflow:
        log_report(
            target,
            sweep_run_id or sweep.sweep_run_id,
            sweep.tracking_uri or tracking_uri,
            sweep.sweep_dir,
            experiment,
        )
    return report.html


def report_at_sweep_end(
    sweep_dir: Path,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    sweep_run_id: str | None = None,
) -> Path | None:
    """Best effort, for the end of a multirun: report from the job dirs into
    `<sweep_dir>/report/`, logged to the parent run when `tracking_uri` is given. Never raises;
    a failure is logged as one warning line and gives None."""
    try:
        html_path = build_report(
            sweep_dir,
            sweep_dir / REPORT_ARTIFACT_DIR,
            tracking_uri=tracking_uri or DEFAULT_TRACKING_URI,
            experiment=experiment,
            log_to_mlflow=tracking_uri is not None,
            sweep_run_id=sweep_run_id,
        )
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.warning("report for %s not written: %s", sweep_dir, first[:300])
        return None
    log.info("report: %s", html_path)
    return html_path
