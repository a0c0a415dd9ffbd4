"""Read-only queries on earlier sweeps: a missing store is no history, the newest sweep comes with
its jobs, a config hash finds its newest FINISHED run, and a carried result comes from the job
dir, else the run's artifact, else its metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sweeper.schema import TrackingConfig
from sweeper.tracking.history import History, JobRun
from sweeper.tracking.mlflow_client import Tracker


def job_run(
    tracker: Tracker,
    hash_: str,
    status: str = "FINISHED",
    parent: str | None = None,
    metrics: dict[str, float] | None = None,
    job_dir: Path | None = None,
) -> str:
    tags = {"sweeper.kind": "job", "sweeper.config_hash": hash_}
    if job_dir is not None:
        tags["sweeper.job_dir"] = str(job_dir)
    run_id = tracker.start_run(f"job-{hash_}", tags, parent)
    tracker.log_job(run_id, {"concurrency": "1"}, metrics or {})
    tracker.end_run(run_id, status)
    time.sleep(0.01)  # distinct start times: "newest" is by start time (ms)
    return run_id


def test_no_store_is_no_history_and_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    history = History(TrackingConfig(uri=f"sqlite:///{db}"))
    assert history.last_sweep() is None
    assert history.finished_run("abc") is None
    assert history.durations({"abc"}) == {}
    assert not db.exists()


def test_last_sweep_is_the_newest_with_its_jobs(store_uri: str) -> None:
    tracker = Tracker(TrackingConfig(uri=store_uri))
    older = tracker.start_run("sweep-old", {"sweeper.kind": "sweep"})
    job_run(tracker, "h-old", parent=older)
    newer = tracker.start_run("sweep-new", {"sweeper.kind": "sweep"})
    jobs = {job_run(tracker, h, parent=newer) for h in ("h1", "h2")}
    tracker.start_run("unrelated", {"sweeper.kind": "job"})

    history = History(TrackingConfig(uri=store_uri))
    last = history.last_sweep()
    assert last is not None
    assert (last.run_id, last.name) == (newer, "sweep-new")
    assert {j.run_id for j in last.jobs} == jobs
    assert {j.config_hash for j in last.jobs} == {"h1", "h2"}
    assert {j.parent_id for j in last.jobs} == {newer}
    # the sweep running now asks for the one before it
    before = history.last_sweep(exclude_run_id=newer)
    assert before is not None and before.run_id == older


def test_finished_run_is_the_newest_finished_of_the_hash(store_uri: str) -> None:
    tracker = Tracker(TrackingConfig(uri=store_uri))
    job_run(tracker, "h", metrics={"duration": 3.0})
    newest = job_run(tracker, "h", metrics={"duration": 2.0})
    job_run(tracker, "h", status="FAILED", metrics={"duration": 1.0})
    job_run(tracker, "other", metrics={"duration": 9.0})

    history = History(TrackingConfig(uri=store_uri))
    found = history.finished_run("h")
    assert found is not None
    assert (found.run_id, found.status, found.params) == (newest, "FINISHED", {"concurrency": "1"})
    assert history.finished_run("missing") is None
    assert history.durations({"h", "other", "missing"}) == {"h": 2.0, "other": 9.0}


def test_result_prefers_the_job_dir(tmp_path: Path, store_uri: str) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "result.json").write_text(json.dumps({"completed": 4, "sweeper": {"x": 1}}))
    run = JobRun("r", "FINISHED", "h", metrics={"completed": 1.0}, job_dir=str(job_dir))
    assert History(TrackingConfig(uri=store_uri)).result(run) == {
        "completed": 4,
        "sweeper": {"x": 1},
    }


def test_result_from_the_artifact_when_the_job_dir_is_gone(tmp_path: Path, store_uri: str) -> None:
    tracker = Tracker(TrackingConfig(uri=store_uri))
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "result.json").write_text(json.dumps({"completed": 5}))
    run_id = job_run(tracker, "h", job_dir=job_dir)
    tracker.log_artifacts(run_id, job_dir)
    (job_dir / "result.json").unlink()

    history = History(TrackingConfig(uri=store_uri))
    found = history.finished_run("h")
    assert found is not None and found.job_dir == str(job_dir)
    assert history.result(found) == {"completed": 5}


def test_result_falls_back_to_top_level_metrics(store_uri: str) -> None:
    tracker = Tracker(TrackingConfig(uri=store_uri))
    job_run(tracker, "h", metrics={"completed": 6.0, "sweeper.send_rate": 2.0})
    history = History(TrackingConfig(uri=store_uri))
    found = history.finished_run("h")
    assert found is not None
    assert history.result(found) == {"completed": 6.0}
