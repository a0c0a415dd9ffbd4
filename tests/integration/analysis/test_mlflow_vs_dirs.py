"""A sweep read from MLflow (real SQLite store) equals the same sweep read from its job dirs;
sync, artifact fallback and report logging against that store."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from analysis.__main__ import main
from analysis.frame import SOURCE_COLUMNS
from analysis.loader import load_experiment, load_sweep
from analysis.report import build_report, make_report, report_at_sweep_end
from analysis.sync import sync_sweep_dirs
from analysis.synthetic import SyntheticGrid, write_sweep


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Path]]:
    root = tmp_path_factory.mktemp("store")
    first = write_sweep(root / "sweeps", SyntheticGrid())
    second = write_sweep(
        root / "sweeps",
        SyntheticGrid(profiles=["default"], repeats=2),
        datetime(2026, 11, 21, 6, 45),
    )
    uri = f"sqlite:///{root}/mlflow.db"
    outcome = sync_sweep_dirs([first, second], uri, "sweeper")
    assert len(outcome.created) == 12
    assert (root / "mlartifacts").is_dir()  # artifacts beside the store, not in the cwd
    return uri, [first, second]


def test_same_frame_from_mlflow_and_from_dirs(store: tuple[str, list[Path]]) -> None:
    uri, dirs = store
    for sweep_dir in dirs:
        from_dirs = load_sweep(sweep_dir)
        from_mlflow = load_sweep(from_dirs.name, tracking_uri=uri)
        assert from_mlflow.sweep_run_id is not None
        assert from_mlflow.runs["run_id"].notna().all()
        pd.testing.assert_frame_equal(
            from_dirs.runs.drop(columns=list(SOURCE_COLUMNS)),
            from_mlflow.runs.drop(columns=list(SOURCE_COLUMNS)),
        )


def test_sql_fast_path_equals_the_mlflow_client(store: tuple[str, list[Path]]) -> None:
    uri, _ = store
    for name in ("sweep-2026-11-21_06-00-00", "sweep-2026-11-21_06-45-00"):
        fast = load_sweep(name, tracking_uri=uri)
        slow = load_sweep(name, tracking_uri=uri, fast=False)
        assert (fast.name, fast.sweep_run_id, fast.sweep_dir) == (
            slow.name,
            slow.sweep_run_id,
            slow.sweep_dir,
        )
        pd.testing.assert_frame_equal(fast.runs, slow.runs)
    pd.testing.assert_frame_equal(
        load_experiment(uri, "sweeper"), load_experiment(uri, "sweeper", fast=False)
    )


def test_sweep_by_run_id_and_whole_experiment(store: tuple[str, list[Path]]) -> None:
    uri, dirs = store
    by_name = load_sweep("sweep-2026-11-21_06-45-00", tracking_uri=uri)
    by_id = load_sweep(by_name.sweep_run_id or "", tracking_uri=uri)
    pd.testing.assert_frame_equal(by_name.runs, by_id.runs)
    assert by_id.sweep_dir == dirs[1]
    everything = load_experiment(uri, "sweeper")
    assert len(everything) == 12
    assert everything.groupby("sweep_name").size().to_dict() == {
        "sweep-2026-11-21_06-00-00": 6,
        "sweep-2026-11-21_06-45-00": 6,
    }
    assert everything["params.repeat"].max() == 1


def test_sync_again_adds_nothing(store: tuple[str, list[Path]]) -> None:
    uri, dirs = store
    outcome = sync_sweep_dirs(dirs, uri, "sweeper", artifacts=False)
    assert outcome.created == [] and len(outcome.skipped) == 12


def test_report_from_artifacts_when_job_dirs_are_gone(
    store: tuple[str, list[Path]], tmp_path: Path
) -> None:
    uri, _ = store
    grid = SyntheticGrid(profiles=["fast"], concurrencies=[2, 4])
    moved = write_sweep(tmp_path / "sweeps", grid, datetime(2026, 11, 21, 7, 30))
    sync_sweep_dirs([moved], uri, "sweeper")
    shutil.rmtree(moved)  # e.g. the jobs ran on another host
    sweep = load_sweep("sweep-2026-11-21_07-30-00", tracking_uri=uri)
    report = make_report(sweep, tmp_path / "report", pngs=False)
    cdf = next(f for f in report.figures if f.key == "cdf")
    server = next(f for f in report.figures if f.key == "server")
    assert [len(s.x) for s in cdf.panel("TTFT").series] == [40, 40]
    assert len(server.panel("KV cache usage").series) == 2


def test_report_is_logged_to_the_parent_run(store: tuple[str, list[Path]], tmp_path: Path) -> None:
    uri, dirs = store
    html = build_report(dirs[0], tmp_path / "out", tracking_uri=uri, log_to_mlflow=True)
    assert html == tmp_path / "out" / "report.html"
    sweep = load_sweep("sweep-2026-11-21_06-00-00", tracking_uri=uri)
    logged = {a.path for a in MlflowClient(uri).list_artifacts(sweep.sweep_run_id, "report")}
    assert {"report/report.html", "report/throughput.png", "report/runs.csv"} <= logged


def test_export_cli_from_mlflow(store: tuple[str, list[Path]], tmp_path: Path) -> None:
    uri, _ = store
    out = tmp_path / "all.parquet"
    assert main(["export", str(out), "--tracking-uri", uri]) == 0
    frame = pd.read_parquet(out)
    assert len(frame) >= 12 and frame["run_id"].notna().all()
    assert "metrics.output_throughput" in frame.columns


def test_report_at_sweep_end_logs_to_the_given_run(
    store: tuple[str, list[Path]], tmp_path: Path
) -> None:
    uri, dirs = store
    copy = tmp_path / "2026-11-21" / "06-45-00"
    shutil.copytree(dirs[1], copy)
    sweep = load_sweep("sweep-2026-11-21_06-45-00", tracking_uri=uri)
    html = report_at_sweep_end(copy, tracking_uri=uri, sweep_run_id=sweep.sweep_run_id)
    assert html == copy / "report" / "report.html" and html.is_file()
    logged = {a.path for a in MlflowClient(uri).list_artifacts(sweep.sweep_run_id, "report")}
    assert "report/latency.png" in logged


def test_report_at_sweep_end_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    empty = tmp_path / "2026-11-21" / "08-00-00"
    (empty / "0").mkdir(parents=True)
    assert report_at_sweep_end(empty, tracking_uri=None) is None
    assert "report for" in caplog.text and "not written" in caplog.text


def test_sync_cli_finds_sweeps_under_a_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "sweeps"
    write_sweep(root, SyntheticGrid(profiles=["fast"], concurrencies=[1, 2], with_files=False))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert main(["sync", str(root), "--tracking-uri", uri]) == 0
    assert "synced 2 job dir(s)" in capsys.readouterr().out
    assert main(["sync", str(root), "--tracking-uri", uri]) == 0
    assert "synced 0 job dir(s)" in capsys.readouterr().out
    assert len(load_sweep("sweep-2026-11-21_06-00-00", tracking_uri=uri).runs) == 2


def test_deleted_runs_are_left_out_by_both_readers(tmp_path: Path) -> None:
    sweep_dir = write_sweep(
        tmp_path / "sweeps",
        SyntheticGrid(profiles=["fast"], concurrencies=[1, 2, 4], with_files=False),
    )
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    sync_sweep_dirs([sweep_dir], uri, "sweeper", artifacts=False)
    runs = load_sweep("sweep-2026-11-21_06-00-00", tracking_uri=uri).runs
    MlflowClient(uri).delete_run(runs["run_id"].iloc[1])
    for fast in (True, False):
        left = load_sweep("sweep-2026-11-21_06-00-00", tracking_uri=uri, fast=fast).runs
        assert left["job_num"].tolist() == [0, 2]
