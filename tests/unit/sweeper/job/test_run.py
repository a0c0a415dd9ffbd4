"""`run_job` with a fake pool: every way a job ends is written to its job dir and counted by the
sweep, and only an interrupt escapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from instruments.errors import ServerStartError
from sweeper.job import jobdir
from sweeper.job.context import config_hash
from sweeper.job.run import run_job
from sweeper.runtime import Runtime
from tests.unit.sweeper.client.fake_openai import FakeOpenAI
from tests.unit.sweeper.job.fake_runtime import FakePool, compose_job, job_context

OVERRIDES = ["num_prompts=6", "concurrency=2", "tracking=none", "server.metrics_interval_s=0"]


def result_of(job_dir: Path) -> dict[str, Any]:
    return json.loads((job_dir / jobdir.RESULT).read_text())


def test_finished_job_writes_its_dir_and_counts(
    tmp_path: Path, runtime: Runtime, pool: FakePool, fake_server: FakeOpenAI
) -> None:
    spec, config = compose_job(OVERRIDES)
    sweep_dir = tmp_path / "sweep"
    ctx = job_context(config, sweep_dir / "3", sweep_dir=sweep_dir, job_num=3)

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["status"] == "FINISHED", summary["sweeper"]["error"]
    assert summary["completed"] == 6 == len(fake_server.seen.bodies)
    assert result_of(ctx.job_dir) == json.loads(json.dumps(summary))
    assert summary["sweeper"]["job_num"] == 3
    assert summary["sweeper"]["config_hash"] == config_hash(config)
    assert summary["sweeper"]["server_fingerprint"] == "fp-fake"
    assert len(pd.read_parquet(ctx.job_dir / jobdir.REQUESTS)) == 6
    assert not (ctx.job_dir / jobdir.ERROR_LOG).exists()
    # the job asked the pool for the sweep's shared servers dir
    assert pool.acquired == [(spec.model.name, sweep_dir / "servers")]
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 0)


def test_finished_job_prints_the_result_block(
    tmp_path: Path, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, config = compose_job(OVERRIDES)
    run_job(spec, job_context(config, tmp_path / "job"), runtime)
    out = capsys.readouterr().out
    assert " Serving Benchmark Result " in out
    assert "Successful requests:                     6" in out


def test_pool_error_fails_the_job_without_raising(
    tmp_path: Path, runtime: Runtime, pool: FakePool, capsys: pytest.CaptureFixture[str]
) -> None:
    pool.fail = ServerStartError("server exited before ready (exit code 1)")
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    summary = run_job(spec, ctx, runtime)

    result = result_of(ctx.job_dir)
    assert result["sweeper"]["status"] == summary["sweeper"]["status"] == "FAILED"
    assert result["sweeper"]["error"] == "server exited before ready (exit code 1)"
    assert result["sweeper"]["server_fingerprint"] == ""  # no lease
    # a SweeperError is the user's problem, said in one line: no traceback file
    assert not (ctx.job_dir / jobdir.ERROR_LOG).exists()
    assert not (ctx.job_dir / jobdir.REQUESTS).exists()
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 1)
    assert "[sweeper] job FAILED: server exited before ready" in capsys.readouterr().err


def test_unexpected_exception_fails_the_job_with_its_traceback(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    pool.fail = RuntimeError("boom")
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["status"] == "FAILED"
    assert summary["sweeper"]["error"] == "RuntimeError: boom"
    trace = (ctx.job_dir / jobdir.ERROR_LOG).read_text()
    assert trace.startswith("Traceback") and "RuntimeError: boom" in trace
    assert "in acquire" in trace  # where it was raised
    assert result_of(ctx.job_dir)["sweeper"]["status"] == "FAILED"
    assert runtime.sweep.jobs_failed == 1


def test_interrupt_is_recorded_as_killed_then_raised(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    pool.fail = KeyboardInterrupt()
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    with pytest.raises(KeyboardInterrupt):
        run_job(spec, ctx, runtime)

    result = result_of(ctx.job_dir)
    assert (result["sweeper"]["status"], result["sweeper"]["error"]) == ("KILLED", "interrupted")
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 1)


def test_server_that_dies_during_the_benchmark_fails_the_job(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    pool.pid, pool.alive = 4242, False
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["status"] == "FAILED"
    # the reason with the counts (issue 15: "8 of 400 requests completed (2 %): ...")
    assert summary["sweeper"]["error"] == (
        "6 of 6 requests completed (100 %): server (pid 4242) exited during the benchmark"
    )
    assert summary["sweeper"]["server_pid"] == 4242
    # what was measured before it died is kept
    assert summary["completed"] == 6
    assert len(pd.read_parquet(ctx.job_dir / jobdir.REQUESTS)) == 6
    assert runtime.sweep.jobs_failed == 1


def test_a_live_server_that_answers_nothing_fails_with_the_top_error(
    tmp_path: Path, runtime: Runtime, fake_server: FakeOpenAI
) -> None:
    fake_server.behaviour.fail_http = set(range(100))
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["status"] == "FAILED"
    assert summary["sweeper"]["error"].startswith("no request completed: ")
    top = summary["sweeper"]["error"].removeprefix("no request completed: ")
    assert summary["sweeper"]["errors_by_reason"][top] == 6


def test_bad_input_fails_before_the_pool_is_asked(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    spec, config = compose_job([*OVERRIDES, "objective=not_a_metric"])
    ctx = job_context(config, tmp_path / "job")

    summary = run_job(spec, ctx, runtime)

    assert summary["sweeper"]["status"] == "FAILED"
    assert summary["sweeper"]["error"].startswith("objective: 'not_a_metric'")
    assert pool.acquired == []


def test_job_dir_gets_its_slice_of_a_shared_server_log(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    log = tmp_path / "servers" / "server.log"
    log.parent.mkdir()
    log.write_text("the previous job's lines\nthis job's lines\n")
    pool.log_path, pool.log_offset = log, len("the previous job's lines\n")
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    run_job(spec, ctx, runtime)

    assert (ctx.job_dir / jobdir.SERVER_LOG).read_text() == "this job's lines\n"


class FakeWatch:
    """Stands in for the /metrics scraper: one scraped sample."""

    def __init__(self, base_url: str, interval_s: float) -> None:
        self.base_url = base_url

    def start(self) -> None:
        pass

    def stop(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"t_ns": [1], "name": ["vllm:num_requests_running"], "labels": [""], "value": [2.0]}
        )


def test_scraped_server_metrics_go_to_the_job_dir(
    tmp_path: Path, runtime: Runtime, pool: FakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sweeper.telemetry.watch.ServerWatch", FakeWatch)
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    run_job(spec, ctx, runtime)

    scraped = pd.read_parquet(ctx.job_dir / jobdir.SERVER_METRICS)
    assert scraped["name"].tolist() == ["vllm:num_requests_running"]


def test_a_tracked_job_is_a_child_of_the_sweep_run(tmp_path: Path, runtime: Runtime) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    spec, config = compose_job([*OVERRIDES, "tracking=mlflow", f"tracking.uri={uri}"])
    sweep_dir = tmp_path / "sweep"
    ctx = job_context(config, sweep_dir / "0", sweep_dir=sweep_dir)

    summary = run_job(spec, ctx, runtime)

    parent = runtime.sweep.run_id
    assert parent is not None and runtime.sweep.warnings == []
    client = MlflowClient(uri)
    children = client.search_runs(
        [client.get_run(parent).info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'"
    )
    (job,) = children
    assert job.info.status == "FINISHED"
    assert job.data.tags["sweeper.config_hash"] == summary["sweeper"]["config_hash"]
    assert job.data.metrics["completed"] == 6
    # the job's files went with it
    assert {a.path for a in client.list_artifacts(job.info.run_id)} == {
        "requests.parquet",
        "result.json",
    }


def test_an_early_stopped_job_is_finished_saturated_and_tracked(
    tmp_path: Path, runtime: Runtime, fake_server: FakeOpenAI
) -> None:
    """An open loop far above what one slot serves: the early stop ends the sending; the job
    is FINISHED (what it left unsent is saved time, not failures), saturated, stopped_early."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec, config = compose_job(
        ["num_prompts=3000", "concurrency=1", "request_rate=1000", "server.metrics_interval_s=0",
         f"tracking.uri={uri}", "tracking.experiment=early", "saturation.min_check_s=1",
         "saturation.check_interval_s=0.1", "print_result=false"]
    )  # fmt: skip
    ctx = job_context(config, tmp_path / "job")
    summary = run_job(spec, ctx, runtime)
    extras = summary["sweeper"]
    assert extras["status"] == "FINISHED", extras["error"]
    assert extras["stopped_early"] is True and extras["saturated"] is True
    assert extras["saturation_reason"].startswith("early stop: backlog grew")
    assert summary["completed"] < 3000 and summary["failed"] == 0
    run = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("early").experiment_id]
    )[0]
    assert run.data.tags["sweeper.saturated"] == "true"
    assert run.data.tags["sweeper.stopped_early"] == "true"
    assert run.data.metrics["sweeper.saturated"] == 1.0
