"""`resume=true` looks a grid point up by config hash: a FINISHED run is carried (no server, no
new run), anything else runs again, and without tracking there is nothing to look up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from instruments.errors import ConfigError
from sweeper.job import jobdir
from sweeper.job.context import JobContext, config_hash
from sweeper.job.resume import carried
from sweeper.job.run import run_job
from sweeper.schema import RunSpec
from sweeper.tracking.mlflow_client import Tracker
from sweeper.tracking.sweep_run import SweepRun
from tests.unit.sweeper.job.fake_runtime import FakePool, compose_job, fake_runtime, job_context

EARLIER = {"completed": 7, "output_throughput": 9.5, "sweeper": {"status": "FINISHED"}}


def resumed_job(tmp_path: Path, extra: tuple[str, ...] = ()) -> tuple[RunSpec, JobContext]:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    spec, config = compose_job(["resume=true", f"tracking.uri={uri}", "num_prompts=3", *extra])
    sweep_dir = tmp_path / "sweep"
    return spec, job_context(config, sweep_dir / "2", sweep_dir=sweep_dir, job_num=2)


def earlier_run(spec: RunSpec, hash_: str, status: str, job_dir: Path) -> str:
    """A job run of an earlier sweep, as `record_job` left it, its result.json in its job dir."""
    jobdir.write_json(job_dir / jobdir.RESULT, EARLIER)
    tracker = Tracker(spec.tracking)
    tags = {"sweeper.kind": "job", "sweeper.config_hash": hash_, "sweeper.job_dir": str(job_dir)}
    run_id = tracker.start_run("concurrency=1", tags)
    tracker.end_run(run_id, status)
    return run_id


def test_a_finished_run_is_carried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, ctx = resumed_job(tmp_path)
    h = config_hash(ctx.config)
    before = earlier_run(spec, h, "FINISHED", tmp_path / "old" / "0")
    parent = Tracker(spec.tracking).start_run("sweep-now", {"sweeper.kind": "sweep"})
    sweep = SweepRun()

    summary = carried(spec, ctx, parent, sweep)

    assert summary is not None
    assert (summary["completed"], summary["output_throughput"]) == (7, 9.5)
    extras = summary["sweeper"]
    assert extras["resumed_from"] == before
    assert (extras["status"], extras["job_num"], extras["config_hash"]) == ("FINISHED", 2, h)
    assert extras["overrides"] == "concurrency=1"
    assert json.loads((ctx.job_dir / jobdir.RESULT).read_text()) == summary
    assert MlflowClient(spec.tracking.uri).get_run(parent).data.tags["sweeper.resumed.2"] == before
    assert (sweep.jobs_done, sweep.jobs_failed) == (1, 0)
    assert sweep.warnings == []
    assert f"job 2 skipped (resume): FINISHED run {before[:8]} has config hash {h}" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_a_run_that_did_not_finish_runs_again(tmp_path: Path, status: str) -> None:
    spec, ctx = resumed_job(tmp_path)
    earlier_run(spec, config_hash(ctx.config), status, tmp_path / "old" / "0")
    sweep = SweepRun()
    assert carried(spec, ctx, None, sweep) is None
    assert not (ctx.job_dir / jobdir.RESULT).exists()
    assert sweep.jobs_done == 0


def test_another_config_hash_runs_again(tmp_path: Path) -> None:
    spec, ctx = resumed_job(tmp_path)
    other = config_hash({**ctx.config, "concurrency": 64})
    earlier_run(spec, other, "FINISHED", tmp_path / "old" / "0")
    assert carried(spec, ctx, None, SweepRun()) is None


def test_no_store_yet_runs_the_job(tmp_path: Path) -> None:
    spec, ctx = resumed_job(tmp_path)
    assert carried(spec, ctx, None, SweepRun()) is None
    # looking up created nothing
    assert not (tmp_path / "mlflow.db").exists()


def test_resume_needs_tracking(tmp_path: Path) -> None:
    spec, ctx = resumed_job(tmp_path, ("tracking=none",))
    with pytest.raises(ConfigError, match="resume: needs tracking"):
        carried(spec, ctx, None, SweepRun())


def test_run_job_carries_without_asking_for_a_server(tmp_path: Path) -> None:
    spec, ctx = resumed_job(tmp_path)
    before = earlier_run(spec, config_hash(ctx.config), "FINISHED", tmp_path / "old" / "0")
    pool = FakePool()
    runtime = fake_runtime(pool)

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["resumed_from"] == before
    assert pool.acquired == []
    # the sweep's parent run, opened by the job, got the tag
    assert runtime.sweep.run_id is not None
    tags = MlflowClient(spec.tracking.uri).get_run(runtime.sweep.run_id).data.tags
    assert tags["sweeper.resumed.2"] == before
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 0)
