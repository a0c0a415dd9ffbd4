"""`record_job` against a real SQLite MLflow store: a job becomes a child run with its tags,
params (no secrets), metrics, series and status; a dead store is a warning, never an error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from launchers.pool import Lease
from launchers.process import free_port
from sweeper.job.context import JobContext, config_hash
from sweeper.job.outcome import Outcome
from sweeper.job.run import result_extras
from sweeper.schema import RunSpec
from sweeper.tracking.job_run import record_job
from sweeper.tracking.mlflow_client import Tracker
from sweeper.tracking.sweep_run import SweepRun
from tests.unit.sweeper.job.fake_runtime import compose_job, job_context

SECRET = "hf_not_for_mlflow"


def finished_job(tmp_path: Path, overrides: list[str]) -> tuple[RunSpec, JobContext, Outcome]:
    """A job as `finish` hands it to `record_job`: its dir written, its extras filled in."""
    spec, config = compose_job([f"server.env={{HF_TOKEN:{SECRET}}}", *overrides])
    ctx = job_context(config, tmp_path / "job", sweep_dir=tmp_path, job_num=5)
    ctx.job_dir.mkdir()
    (ctx.job_dir / "result.json").write_text("{}")
    outcome = Outcome(
        status="FINISHED",
        lease=Lease(base_url="http://127.0.0.1:1", fingerprint="fp-1", reused=True, pid=77),
        summary={"completed": 5, "output_throughput": 12.5, "sweeper": {"send_rate": 3.0}},
        series=pd.DataFrame({"completed": [1.0, 3.0, 5.0]}, index=[0, 1, 2]),
    )
    outcome.summary["sweeper"] = result_extras(spec, ctx, outcome)
    return spec, ctx, outcome


def run_experiment(client: MlflowClient) -> str:
    exp = client.get_experiment_by_name("sweeper")
    assert exp is not None
    return exp.experiment_id


def test_a_job_becomes_a_child_run(tmp_path: Path, store_uri: str) -> None:
    spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={store_uri}"])
    parent = Tracker(spec.tracking).start_run("sweep-x", {"sweeper.kind": "sweep"})
    sweep = SweepRun()

    record_job(spec, ctx, outcome, parent, sweep)

    assert sweep.warnings == []
    client = MlflowClient(store_uri)
    (run,) = [r for r in client.search_runs([run_experiment(client)]) if r.info.run_id != parent]
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "concurrency=1"
    assert tags["sweeper.kind"] == "job"
    assert tags["mlflow.parentRunId"] == parent
    assert tags["sweeper.config_hash"] == config_hash(ctx.config)
    assert tags["sweeper.server_fingerprint"] == "fp-1"
    assert (tags["sweeper.server_pid"], tags["sweeper.server_reused"]) == ("77", "true")
    assert tags["sweeper.job_num"] == "5"
    assert "sweeper.error" not in tags
    # params: the composed config flattened, the secret left out
    assert params["concurrency"] == "1"
    assert params["tracking.uri"] == store_uri
    assert "server.env.HF_TOKEN" not in params
    assert SECRET not in repr(params) + repr(tags)
    # metrics: every numeric result key, the `sweeper` block dotted, the series as steps
    assert metrics["completed"] == 5 and metrics["output_throughput"] == 12.5
    assert metrics["sweeper.send_rate"] == 3.0
    history = client.get_metric_history(run.info.run_id, "ts.completed")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 3.0), (2, 5.0)]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["result.json"]


def test_a_failed_job_carries_its_error_and_status(tmp_path: Path, store_uri: str) -> None:
    spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={store_uri}"])
    outcome.status, outcome.error = "FAILED", "no request completed: timeout"

    record_job(spec, ctx, outcome, None, SweepRun())

    client = MlflowClient(store_uri)
    (run,) = client.search_runs([run_experiment(client)])
    assert run.info.status == "FAILED"
    assert run.data.tags["sweeper.error"] == "no request completed: timeout"
    assert "mlflow.parentRunId" not in run.data.tags


def test_dead_tracking_server_is_a_warning(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={uri}", "tracking.timeout_s=1"])
    sweep = SweepRun()

    record_job(spec, ctx, outcome, None, sweep)  # does not raise

    (warning,) = sweep.warnings
    assert warning.startswith(f"job 5 not tracked (its files are in {ctx.job_dir}): ")
    assert f"MLflow ({uri}) could not create run" in warning


def test_tracking_off_touches_no_store(tmp_path: Path, store_uri: str) -> None:
    spec, ctx, outcome = finished_job(
        tmp_path, ["tracking.enabled=false", f"tracking.uri={store_uri}"]
    )
    sweep = SweepRun()
    record_job(spec, ctx, outcome, None, sweep)
    assert sweep.warnings == []
    assert not Path(store_uri.removeprefix("sqlite:///")).exists()


def test_secrets_are_redacted_from_overrides_and_job_dir_before_artifacts(
    tmp_path: Path, store_uri: str
) -> None:
    from instruments import redact

    redact.forget()
    try:
        literal = "+load.headers.Authorization=Bearer sk-typed-77"
        spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={store_uri}"])
        ctx = JobContext(ctx.job_dir, ctx.sweep_dir, ctx.job_num, [literal], ctx.config)
        assert ctx.overrides == ["+load.headers.Authorization=***"]
        redact.remember(redact.override_secrets([literal]))
        (ctx.job_dir / "server.log").write_text("client sent Bearer sk-typed-77\n")
        (ctx.job_dir / "requests.parquet").write_bytes(b"Bearer sk-typed-77")  # not scanned
        outcome.summary["sweeper"] = result_extras(spec, ctx, outcome)
        record_job(spec, ctx, outcome, None, SweepRun())
        assert (ctx.job_dir / "server.log").read_text() == "client sent ***\n"
        run = MlflowClient(store_uri).search_runs(
            [Tracker(spec.tracking).experiment_id()], "tags.`sweeper.job_num` = '5'"
        )[0]
        assert run.data.tags["sweeper.overrides"] == "+load.headers.Authorization=***"
        assert "sk-typed-77" not in run.info.run_name
    finally:
        redact.forget()
