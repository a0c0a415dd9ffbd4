"""Job-level faults with the fake runtime: the status rules (min_success_fraction, a server that
is gone), the job deadline (job_timeout_s) and job dirs that cannot be written."""

from __future__ import annotations

import errno
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from launchers.config import ModelConfig, ServerConfig
from launchers.pool import Lease
from launchers.process import free_port
from sweeper.job import jobdir
from sweeper.job.run import run_job
from sweeper.job.verdict import judge, share_text
from sweeper.runtime import Runtime
from tests.unit.sweeper.client.fake_openai import FakeOpenAI
from tests.unit.sweeper.job.fake_runtime import FakePool, compose_job, job_context

OVERRIDES = ["num_prompts=6", "concurrency=2", "tracking=none", "server.metrics_interval_s=0"]


def summary(completed: int, failed: int, **errors: int) -> dict[str, Any]:
    return {"completed": completed, "failed": failed, "sweeper": {"errors_by_reason": errors}}


def test_the_share_is_floored_so_a_near_miss_never_reads_100() -> None:
    assert share_text(8, 400) == "8 of 400 requests completed (2 %)"
    assert share_text(399, 400) == "399 of 400 requests completed (99 %)"
    assert share_text(0, 0) == "0 of 0 requests completed (0 %)"


@pytest.mark.parametrize(
    ("completed", "failed", "minimum", "status"),
    [(100, 0, 0.25, "FINISHED"), (25, 75, 0.25, "FINISHED"), (24, 76, 0.25, "FAILED"),
     (1, 99, 0.0, "FINISHED"), (99, 1, 1.0, "FAILED"), (0, 5, 0.0, "FAILED")],
)  # fmt: skip
def test_min_success_fraction_decides_finished(
    completed: int, failed: int, minimum: float, status: str
) -> None:
    assert judge(summary(completed, failed, http_500=failed), minimum, None).status == status


def test_below_the_minimum_the_error_gives_counts_key_and_top_reason() -> None:
    verdict = judge(summary(8, 392, connect_error=380, http_500=12), 0.25, None)
    assert verdict.error == (
        "8 of 400 requests completed (2 %), below min_success_fraction=0.25; "
        "most frequent error: connect_error"
    )


def test_a_gone_server_fails_the_job_whatever_completed() -> None:
    verdict = judge(summary(400, 0), 0.25, "server (pid 7) exited during the benchmark")
    assert (verdict.status, verdict.error) == (
        "FAILED",
        "400 of 400 requests completed (100 %): server (pid 7) exited during the benchmark",
    )


def result_of(job_dir: Path) -> dict[str, Any]:
    return json.loads((job_dir / jobdir.RESULT).read_text())


def test_mostly_failed_job_is_failed_with_counts_and_keeps_every_record(
    tmp_path: Path, runtime: Runtime, fake_server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_server.behaviour.fail_http = set(range(5))
    spec, config = compose_job(OVERRIDES)
    sweep_dir = tmp_path / "sweep"
    ctx = job_context(config, sweep_dir / "3", sweep_dir=sweep_dir, job_num=3)

    result = run_job(spec, ctx, runtime)

    assert result["sweeper"]["status"] == result_of(ctx.job_dir)["sweeper"]["status"] == "FAILED"
    assert result["sweeper"]["error"] == (
        "1 of 6 requests completed (16 %), below min_success_fraction=0.25; "
        "most frequent error: http_500"
    )
    assert len(pd.read_parquet(ctx.job_dir / jobdir.REQUESTS)) == 6
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 1)
    assert f"[sweeper] job 3 FAILED: {result['sweeper']['error']}" in capsys.readouterr().err


def test_a_lower_minimum_lets_the_same_job_finish(
    tmp_path: Path, runtime: Runtime, fake_server: FakeOpenAI
) -> None:
    fake_server.behaviour.fail_http = set(range(5))
    spec, config = compose_job([*OVERRIDES, "min_success_fraction=0.1"])
    result = run_job(spec, job_context(config, tmp_path / "job"), runtime)
    assert result["sweeper"]["status"] == "FINISHED" and result["failed"] == 5


def test_min_success_fraction_out_of_range_fails_in_one_line(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    spec, config = compose_job([*OVERRIDES, "min_success_fraction=1.5"])
    result = run_job(spec, job_context(config, tmp_path / "job"), runtime)
    assert result["sweeper"]["error"] == "min_success_fraction: must be <= 1, got 1.5"
    assert pool.acquired == []


def test_a_run_of_connection_failures_says_the_server_is_gone(
    tmp_path: Path, runtime: Runtime, pool: FakePool
) -> None:
    """server=external has no pid to watch: the records say that nobody listens any more."""
    pool.base_url = f"http://127.0.0.1:{free_port()}"
    spec, config = compose_job([*OVERRIDES, "num_prompts=12"])
    ctx = job_context(config, tmp_path / "job")

    result = run_job(spec, ctx, runtime)

    assert result["sweeper"]["error"] == (
        "0 of 12 requests completed (0 %): the server stopped accepting connections "
        "(the last 12 requests: connect_error)"
    )
    assert len(pd.read_parquet(ctx.job_dir / jobdir.REQUESTS)) == 12


def test_job_deadline_stops_a_hung_benchmark_and_fails_the_job(
    tmp_path: Path, runtime: Runtime, fake_server: FakeOpenAI
) -> None:
    fake_server.behaviour.ttft_s = 5  # every request hangs before its first byte
    spec, config = compose_job([*OVERRIDES, "job_timeout_s=1.5"])
    sweep_dir = tmp_path / "sweep"
    ctx = job_context(config, sweep_dir / "0", sweep_dir=sweep_dir)

    t0 = time.monotonic()
    result = run_job(spec, ctx, runtime)
    print(f"job ended {time.monotonic() - t0:.1f} s after its start (job_timeout_s=1.5)")

    assert result["sweeper"]["status"] == "FAILED"
    # the client stops at the deadline itself: the requests in flight are kept as cancelled
    records = pd.read_parquet(ctx.job_dir / jobdir.REQUESTS)
    sent = len(records)
    assert sent >= 1 and not records["success"].any()
    assert set(records["error"]) == {"cancelled: job_timeout_s=1.5 reached during the benchmark"}
    assert result["sweeper"]["error"] == (
        "0 of 6 requests completed (0 %)"
        + (f", {6 - sent} not sent" if sent < 6 else "")
        + ": job_timeout_s=1.5 reached during the benchmark"
    )
    assert result_of(ctx.job_dir)["sweeper"]["error"] == result["sweeper"]["error"]
    assert runtime.sweep.jobs_failed == 1


class SlowPool(FakePool):
    def acquire(
        self, model: ModelConfig, server: ServerConfig, log_dir: Path,
        while_starting: Callable[[], None] | None = None,
    ) -> Lease:  # fmt: skip
        time.sleep(0.5)  # a server start that takes longer than the whole job may
        return super().acquire(model, server, log_dir, while_starting)


def test_job_deadline_counts_the_server_start(tmp_path: Path, fake_server: FakeOpenAI) -> None:
    runtime = Runtime(pool=SlowPool(base_url=fake_server.base_url))
    spec, config = compose_job([*OVERRIDES, "job_timeout_s=0.2"])
    result = run_job(spec, job_context(config, tmp_path / "job"), runtime)
    assert result["sweeper"]["error"] == "job_timeout_s=0.2 reached while starting the server"
    assert fake_server.seen.bodies == []  # no benchmark after the deadline


def test_unwritable_job_dir_fails_the_job_in_one_line_and_counts_it(
    tmp_path: Path, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real OS error: the job dir's parent is a file (root ignores a chmod)."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    spec, config = compose_job([*OVERRIDES, "tracking=mlflow", f"tracking.uri={uri}"])
    blocker = tmp_path / "sweep"
    blocker.write_text("not a directory")
    ctx = job_context(config, blocker / "0", sweep_dir=tmp_path / "elsewhere", job_num=0)

    result = run_job(spec, ctx, runtime)

    error = result["sweeper"]["error"]
    assert error == f"cannot write {blocker / '0' / jobdir.REQUESTS}: [Errno 20] Not a directory"
    assert result["sweeper"]["status"] == "FAILED"
    err = capsys.readouterr().err
    assert err.count("[sweeper] job 0 FAILED: ") == 1 and "Traceback" not in err
    assert (runtime.sweep.jobs_done, runtime.sweep.jobs_failed) == (1, 1)
    client = MlflowClient(uri)
    (job,) = client.search_runs(
        [client.get_experiment_by_name("sweeper").experiment_id], "tags.`sweeper.kind` = 'job'"
    )
    assert job.info.status == "FAILED"
    assert job.data.tags["sweeper.error"] == error
    assert job.data.metrics["completed"] == 6  # what was measured is in MLflow still


def test_full_disk_on_a_data_file_still_keeps_the_result_and_fails_the_job(
    tmp_path: Path, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(self: pd.DataFrame, path: Path) -> None:
        Path(path).write_bytes(b"PAR1")  # a part of it, as a disk that fills up leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", no_space)
    spec, config = compose_job(OVERRIDES)
    ctx = job_context(config, tmp_path / "job")

    result = run_job(spec, ctx, runtime)

    expected = f"cannot write {ctx.job_dir / jobdir.REQUESTS}: [Errno 28] No space left on device"
    assert result["sweeper"]["error"] == expected
    on_disk = result_of(ctx.job_dir)["sweeper"]
    assert (on_disk["status"], on_disk["error"]) == ("FAILED", expected)
    # no partial file under the real name, and no temp file left
    assert sorted(p.name for p in ctx.job_dir.iterdir()) == [jobdir.RESULT]
    assert runtime.sweep.jobs_failed == 1
