"""Skipping past the knee: which sibling makes a point skip, reading the sweep dir, and what a
skipped job leaves (job dir, MLflow run KILLED + tag SKIPPED, not counted as failed)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

from sweeper.job.context import JobContext
from sweeper.job.skip import knee_below, mlflow_siblings, record_skip, sibling_results
from sweeper.schema import RunSpec, TrackingConfig
from sweeper.tracking.mlflow_client import Tracker
from sweeper.tracking.sweep_run import SweepRun

SATURATED = {"saturated": True, "job_num": 2, "saturation_reason": "queue: held 8"}


def test_a_lower_saturated_point_of_the_same_series_skips() -> None:
    mine = {"server.max_num_seqs": "8", "concurrency": "64", "repeat": "1"}
    lower = {"server.max_num_seqs": "8", "concurrency": "16", "repeat": "0"}
    reason = knee_below(mine, [(lower, SATURATED)])
    assert reason == "past the knee: job 2 (concurrency=16) was saturated (queue: held 8)"
    assert knee_below({**mine, "concurrency": "null"}, [(lower, SATURATED)]) is not None


def test_what_does_not_skip() -> None:
    mine = {"server.max_num_seqs": "8", "concurrency": "64"}
    other_server = {"server.max_num_seqs": "16", "concurrency": "16"}
    higher = {"server.max_num_seqs": "8", "concurrency": "256"}
    lower = {"server.max_num_seqs": "8", "concurrency": "16"}
    assert knee_below(mine, [(other_server, SATURATED), (higher, SATURATED)]) is None
    assert knee_below(mine, [(lower, {**SATURATED, "saturated": False})]) is None
    # a carried result (resume=true) skips nothing: resume runs what an earlier sweep skipped
    assert knee_below(mine, [(lower, {**SATURATED, "resumed_from": "abc"})]) is None
    assert knee_below({"server.max_num_seqs": "8"}, [(lower, SATURATED)]) is None


def job_dir(sweep: Path, num: int, overrides: list[str], extras: dict[str, object]) -> Path:
    path = sweep / str(num)
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (path / "result.json").write_text(json.dumps({"sweeper": extras}))
    return path


def test_siblings_are_read_from_the_sweep_dir(tmp_path: Path) -> None:
    job_dir(tmp_path, 0, ["concurrency=1"], {"saturated": False, "job_num": 0})
    job_dir(tmp_path, 1, ["concurrency=16"], SATURATED)
    own = tmp_path / "2"
    (own / ".hydra").mkdir(parents=True)  # running: no result.json yet
    (tmp_path / "3").mkdir()  # a job dir without files
    siblings = sibling_results(tmp_path, own)
    assert [s[0] for s in siblings] == [{"concurrency": "1"}, {"concurrency": "16"}]
    assert knee_below({"concurrency": "64"}, siblings) is not None


def test_a_skipped_job_has_a_dir_and_a_killed_run_tagged_skipped(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = TrackingConfig(uri=uri, experiment="skip")
    spec = RunSpec(tracking=tracking)
    ctx = JobContext(
        job_dir=tmp_path / "sweep" / "3", sweep_dir=tmp_path / "sweep", job_num=3,
        overrides=["concurrency=64"], config={"concurrency": 64},
    )  # fmt: skip
    sweep = SweepRun()
    parent = sweep.open(tmp_path / "sweep", tracking, [])
    summary = record_skip(spec, ctx, "past the knee: job 2 …", parent, sweep)
    written = json.loads((ctx.job_dir / "result.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert written["sweeper"]["status"] == "SKIPPED"
    assert sweep.jobs_skipped == 1 and sweep.jobs_failed == 0
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("skip")
    (run,) = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    assert run.info.status == "KILLED"
    assert run.data.tags["sweeper.status"] == "SKIPPED"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.params["concurrency"] == "64"
    sweep.close()
    closed = client.get_run(parent)
    assert closed.info.status == "FINISHED"  # a skip is not a failure
    assert closed.data.tags["sweeper.jobs_skipped"] == "1"


def test_without_a_shared_sweep_dir_mlflow_says_which_siblings_saturated(tmp_path: Path) -> None:
    """A cluster worker that sees no sibling's files: the sweep run's children tagged
    sweeper.saturated=true, their params for the overrides."""
    tracking = TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="remote")
    tracker = Tracker(tracking)
    parent = tracker.start_run("sweep", {"sweeper.kind": "sweep"})
    for conc, saturated in (("4", "false"), ("16", "true")):
        run_id = tracker.start_run(
            f"concurrency={conc}", {"sweeper.kind": "job", "sweeper.saturated": saturated}, parent
        )
        tracker.log_job(run_id, {"concurrency": conc, "server.max_num_seqs": "8"}, {})
    keys = ["concurrency", "server.max_num_seqs"]
    siblings = mlflow_siblings(RunSpec(tracking=tracking), parent, keys, SweepRun())
    assert [s[0] for s in siblings] == [{"concurrency": "16", "server.max_num_seqs": "8"}]
    reason = knee_below({"concurrency": "64", "server.max_num_seqs": "8"}, siblings)
    assert reason is not None and "(concurrency=16) was saturated" in reason
