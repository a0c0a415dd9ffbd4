"""A real 2 × 3 sweep (simulator profiles default, fast × three concurrencies, tracking off):
its job dirs load, sync into MLflow and read back equal, and its report holds every plot with
the right curves and points."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.frame import SOURCE_COLUMNS
from analysis.loader import Sweep, load_sweep
from analysis.report import Report, make_report
from analysis.sync import sync_sweep_dirs
from tests.helpers.processes import run_captured

REPO = Path(__file__).resolve().parents[3]
NUM_PROMPTS = 8


def run_sweep(sweep_dir: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "sweeper",
        "-m",
        "tracking=none",
        "server.profile=default,fast",
        "concurrency=2,4,8",
        f"num_prompts={NUM_PROMPTS}",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    # a timeout reaps it SIGTERM first: sweeper stops its servers (they run in their own sessions)
    done = run_captured(argv, timeout=240, merge_stderr=True)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sweep_dir = tmp_path_factory.mktemp("real") / "2026-11-21" / "07-00-00"
    run_sweep(sweep_dir)
    return sweep_dir


@pytest.fixture(scope="module")
def report(real_sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Sweep, Report]:
    sweep = load_sweep(real_sweep)
    return sweep, make_report(sweep, tmp_path_factory.mktemp("report"))


def test_job_dirs_and_synced_mlflow_give_the_same_frame(real_sweep: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    outcome = sync_sweep_dirs([real_sweep], uri, "sweeper")
    assert len(outcome.created) == 6
    from_dirs = load_sweep(real_sweep).runs
    for fast in (True, False):
        from_mlflow = load_sweep("sweep-2026-11-21_07-00-00", tracking_uri=uri, fast=fast).runs
        pd.testing.assert_frame_equal(
            from_dirs.drop(columns=list(SOURCE_COLUMNS)),
            from_mlflow.drop(columns=list(SOURCE_COLUMNS)),
        )
    assert (from_dirs["status"] == "FINISHED").all() and from_dirs["simulated"].all()
    assert from_dirs["params.concurrency"].tolist() == [2, 4, 8, 2, 4, 8]


def test_report_holds_every_plot_with_right_curves(report: tuple[Sweep, Report]) -> None:
    sweep, rep = report
    figures = {f.key: f for f in rep.figures}
    assert rep.shape.x == "params.concurrency"
    assert rep.shape.series == ("params.server.profile",)
    panels = {
        k: {p.title: [len(s.x) for s in p.series] for p in f.all_panels()}
        for k, f in figures.items()
    }
    assert panels["throughput"]["output throughput"] == [3, 3]
    assert panels["latency"]["TTFT"] == [3] * 6 and panels["latency"]["E2EL"] == [3] * 6
    assert [len(s.x) for s in figures["pareto"].all_panels()[0].series[:2]] == [3, 3]
    assert panels["cdf"]["TTFT"] == [NUM_PROMPTS] * 6
    have_metrics = all(
        (Path(d) / "server_metrics.parquet").is_file() for d in sweep.runs["job_dir"]
    )
    server_curves = [len(p.series) for p in figures["server"].all_panels()]
    assert server_curves == ([6, 6, 6] if have_metrics else [0, 0, 0])
    assert {p.name for p in rep.pngs} >= {
        "throughput.png",
        "latency.png",
        "pareto.png",
        "goodput.png",
        "cdf.png",
    }
    assert "[SIMULATED]" in figures["throughput"].title
