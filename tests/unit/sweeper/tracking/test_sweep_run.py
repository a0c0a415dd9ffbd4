"""The sweep's parent run: opened once, joined by jobs in other processes, closed with the
sweep's counts (jobs run by other processes, joblib or submitit, count too) and status."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from sweeper.schema import TrackingConfig
from sweeper.tracking.sweep_run import RUN_ID_ENV, SweepRun


def _job(sweep_dir: Path, num: int, status: str) -> None:
    d = sweep_dir / str(num)
    d.mkdir(parents=True)
    (d / "result.json").write_text(json.dumps({"completed": 1, "sweeper": {"status": status}}))


def test_totals_are_read_back_from_job_dirs_of_other_processes(tmp_path: Path) -> None:
    for num, status in enumerate(["FINISHED", "FAILED", "FINISHED"]):
        _job(tmp_path, num, status)
    (tmp_path / "3").mkdir()  # a job that died before writing its result
    sweep = SweepRun(sweep_dir=tmp_path)
    sweep.close()
    assert (sweep.jobs_done, sweep.jobs_failed) == (3, 1)


def test_in_process_totals_win_when_they_saw_more(tmp_path: Path) -> None:
    _job(tmp_path, 0, "FINISHED")
    sweep = SweepRun(sweep_dir=tmp_path)
    sweep.job_finished(ok=True)
    sweep.job_finished(ok=False)  # a config error: no job dir result
    sweep.close()
    assert (sweep.jobs_done, sweep.jobs_failed) == (2, 1)


def sweep_dir_in(tmp_path: Path) -> Path:
    """Hydra's `outputs/sweeps/<date>/<time>`."""
    d = tmp_path / "sweeps" / "2026-12-01" / "21-30-00"
    d.mkdir(parents=True)
    return d


def test_open_creates_one_parent_run_per_sweep(tmp_path: Path, store_uri: str) -> None:
    tracking = TrackingConfig(uri=store_uri, experiment="t")
    sweep_dir = sweep_dir_in(tmp_path)
    sweep = SweepRun()

    run_id = sweep.open(sweep_dir, tracking, ["-m", "concurrency=1,2"])

    assert run_id is not None and sweep.owned
    assert sweep.open(sweep_dir, tracking, []) == run_id  # the second job finds it
    assert os.environ[RUN_ID_ENV] == run_id  # for jobs in other processes
    run = MlflowClient(store_uri).get_run(run_id)
    assert run.info.run_name == "sweep-2026-12-01_21-30-00"
    assert run.data.tags["sweeper.kind"] == "sweep"
    assert run.data.tags["sweeper.sweep_dir"] == str(sweep_dir.resolve())
    assert run.data.tags["sweeper.overrides"] == "-m concurrency=1,2"


def test_close_ends_the_run_with_the_sweeps_counts(tmp_path: Path, store_uri: str) -> None:
    sweep = SweepRun()
    run_id = sweep.open(sweep_dir_in(tmp_path), TrackingConfig(uri=store_uri), [])
    assert run_id is not None
    sweep.job_finished(ok=True)
    sweep.job_finished(ok=False)

    sweep.close()
    sweep.close()  # once only

    run = MlflowClient(store_uri).get_run(run_id)
    assert run.info.status == "FAILED"  # a job failed
    assert (run.data.tags["sweeper.jobs_done"], run.data.tags["sweeper.jobs_failed"]) == ("2", "1")
    assert RUN_ID_ENV not in os.environ


@pytest.mark.parametrize(("status", "ended"), [(None, "FINISHED"), ("KILLED", "KILLED")])
def test_close_status_when_every_job_finished(
    tmp_path: Path, store_uri: str, status: str | None, ended: str
) -> None:
    sweep = SweepRun()
    run_id = sweep.open(sweep_dir_in(tmp_path), TrackingConfig(uri=store_uri), [])
    assert run_id is not None
    sweep.job_finished(ok=True)
    sweep.close(status)  # Ctrl-C gives KILLED whatever the counts
    assert MlflowClient(store_uri).get_run(run_id).info.status == ended


def test_a_job_in_another_process_joins_the_parent_run(tmp_path: Path, store_uri: str) -> None:
    tracking = TrackingConfig(uri=store_uri)
    launcher = SweepRun()
    parent = launcher.open(sweep_dir_in(tmp_path), tracking, [])
    worker = SweepRun()  # what a joblib worker builds; it inherits the environment

    assert worker.open(tmp_path / "sweeps" / "2026-12-01" / "21-30-00", tracking, []) == parent
    assert not worker.owned
    worker.close()  # a worker never ends the launcher's run
    assert parent is not None
    assert MlflowClient(store_uri).get_run(parent).info.status == "RUNNING"


def test_optuna_answer_goes_to_the_parent_run(tmp_path: Path, store_uri: str) -> None:
    sweep_dir = sweep_dir_in(tmp_path)
    (sweep_dir / "optimization_results.yaml").write_text(
        "name: optuna\nbest_params:\n  concurrency: 16\nbest_value: 123.5\n"
    )
    sweep = SweepRun()
    run_id = sweep.open(sweep_dir, TrackingConfig(uri=store_uri), [])
    assert run_id is not None
    sweep.close()
    run = MlflowClient(store_uri).get_run(run_id)
    assert run.data.tags["optuna.best.concurrency"] == "16"
    assert run.data.metrics["optuna.best_value"] == 123.5


def test_no_tracking_no_parent_run(tmp_path: Path, store_uri: str) -> None:
    sweep = SweepRun()
    off = TrackingConfig(enabled=False, uri=store_uri)
    assert sweep.open(sweep_dir_in(tmp_path), off, []) is None
    sweep.close()
    assert not Path(store_uri.removeprefix("sqlite:///")).exists()
    assert RUN_ID_ENV not in os.environ


def test_dead_store_is_a_warning(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    sweep = SweepRun()
    assert sweep.open(sweep_dir_in(tmp_path), TrackingConfig(uri=uri, timeout_s=1), []) is None
    (warning,) = sweep.warnings
    assert warning.startswith(f"sweep run not tracked: MLflow ({uri}) could not create run")
    sweep.close()  # nothing to end, nothing raised
