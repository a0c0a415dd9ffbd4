"""Faults of the server process: fails to start, never healthy, crashes, stalls, HTTP errors."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import job_dirs, read_result

FAST = ("server.profile=fast", "load.progress=false")


def statuses(sweep: Sweep) -> list[str]:
    return [r["sweeper"]["status"] for r in sweep.results()]


def server_starts(sweep: Sweep) -> int:
    return len(list((sweep.sweep_dir / "servers").iterdir()))


def test_server_exits_at_once_job_failed_sweep_goes_on_retried(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run("-m", "server.profile=nosuch,fast", "concurrency=1,2", "num_prompts=5")
    results = sweep.results()
    errors = [r["sweeper"]["error"] for r in results]
    fault_row(
        "start_exits",
        f"jobs {statuses(sweep)}, {server_starts(sweep)} server starts, exit {proc.returncode}; "
        f"job 0 error: {errors[0].splitlines()[0]} … `{errors[0].splitlines()[-1].strip()}`",
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert statuses(sweep) == ["FAILED", "FAILED", "FINISHED", "FINISHED"]
    for error in errors[:2]:
        assert "exited with code 2 before ready" in error
        assert "invalid choice: 'nosuch'" in error, "the server log tail is in the error"
    assert [r["completed"] for r in results[2:]] == [5, 5]
    # the failed fingerprint was tried once per job (2 starts), then the good one once
    assert server_starts(sweep) == 3
    assert [r["sweeper"]["server_reused"] for r in results[2:]] == [False, True]
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    jobs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    failed = [r for r in jobs if r.info.status == "FAILED"]
    assert len(jobs) == 4 and len(failed) == 2
    assert all("invalid choice" in r.data.tags["sweeper.error"] for r in failed)


def test_server_never_healthy_job_failed_after_ready_timeout(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    sweep = Sweep(tmp_path)
    t0 = time.monotonic()
    proc = sweep.run(
        "-m", "server.slow_start_s=600,0", "concurrency=1,2", "num_prompts=5",
        "server.ready_timeout_s=3", "tracking=none", *FAST,
    )  # fmt: skip
    wall = time.monotonic() - t0
    results = sweep.results()
    error = results[0]["sweeper"]["error"]
    fault_row(
        "start_unhealthy",
        f"jobs {statuses(sweep)}, {server_starts(sweep)} server starts in {wall:.0f} s; "
        f"job 0 error: {error.splitlines()[0]}",
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert statuses(sweep) == ["FAILED", "FAILED", "FINISHED", "FINISHED"]
    for r in results[:2]:
        assert "server not ready after 3s" in r["sweeper"]["error"]
        assert "answered 503" in r["sweeper"]["error"]
    assert server_starts(sweep) == 3
    assert proc.stderr.count("FAILED: server not ready") == 2


def test_server_crash_mid_benchmark_fails_job_and_next_job_restarts(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "num_prompts=30,6", "server.crash_after=20", "concurrency=4", "tracking=none", *FAST
    )
    crashed, after = sweep.results()
    records = pd.read_parquet(job_dirs(sweep.sweep_dir)[0] / "requests.parquet")
    reasons = crashed["sweeper"]["errors_by_reason"]
    fault_row(
        "crash",
        f"job 0 {crashed['sweeper']['status']} ({crashed['sweeper']['error']}), "
        f"completed {crashed['completed']}, failed {crashed['failed']} {reasons}; job 1 "
        f"{after['sweeper']['status']} on a new server (pid {crashed['sweeper']['server_pid']} → "
        f"{after['sweeper']['server_pid']})",
    )
    assert proc.returncode == 1
    assert crashed["sweeper"]["status"] == "FAILED"
    assert "exited during the benchmark" in crashed["sweeper"]["error"]
    # the 21st request kills the server: up to 3 others (concurrency 4) were in flight
    assert 20 - 4 < crashed["completed"] <= 20
    assert crashed["completed"] + crashed["failed"] == 30
    failed = records[~records["success"]]
    assert len(records) == 30 and len(failed) == crashed["failed"]
    assert (failed["error"].str.len() > 0).all(), "every failed request has a reason"
    assert sum(reasons.values()) == crashed["failed"]
    assert reasons.get("connect_error", 0) >= 1, "requests after the crash find no server"
    assert after["sweeper"]["status"] == "FINISHED" and after["completed"] == 6
    assert after["sweeper"]["server_reused"] is False
    assert after["sweeper"]["server_pid"] != crashed["sweeper"]["server_pid"]
    assert "died since the last job" in proc.stderr


def test_server_stall_times_out_per_request(tmp_path: Path, fault_row: RecordRow) -> None:
    sweep = Sweep(tmp_path)
    timeout_s, grace_s = 2.0, 10.0
    t0 = time.monotonic()
    proc = sweep.run(
        "server.stall_rate=0.5", "server.stall_s=300", f"load.request_timeout_s={timeout_s}",
        "num_prompts=12", "concurrency=12", "tracking=none", *FAST,
    )  # fmt: skip
    wall = time.monotonic() - t0
    result = read_result(tmp_path / "run")
    records = pd.read_parquet(tmp_path / "run" / "requests.parquet")
    timeouts = records[records["error"].str.startswith("timeout")]
    first = timeouts["error"].iloc[0] if len(timeouts) else ""
    fault_row(
        "stall",
        f"{len(timeouts)}/12 requests failed `{first}`, benchmark {result['duration']:.1f} s "
        f"(timeout {timeout_s:g} s), whole run {wall:.0f} s; job {result['sweeper']['status']}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(timeouts) >= 1 and result["completed"] >= 1
    assert result["completed"] + len(timeouts) == 12
    assert result["duration"] < timeout_s + grace_s
    assert (timeouts["e2el_ms"].isna()).all()


def test_http_errors_and_cut_streams_counted_benchmark_goes_on(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "server.fail_500_rate=0.15", "server.fail_429_rate=0.15", "server.cut_stream_rate=0.2",
        "num_prompts=60", "concurrency=8", "tracking=none", *FAST,
    )  # fmt: skip
    result = read_result(tmp_path / "run")
    records = pd.read_parquet(tmp_path / "run" / "requests.parquet")
    reasons = result["sweeper"]["errors_by_reason"]
    by_status = records["http_status"].value_counts().to_dict()
    fault_row(
        "http_errors",
        f"job {result['sweeper']['status']}: completed {result['completed']}, failed "
        f"{result['failed']}, by reason {reasons}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["sweeper"]["status"] == "FINISHED"
    assert result["completed"] + result["failed"] == 60
    assert reasons.get("http_500", 0) >= 1 and reasons.get("http_429", 0) >= 1
    assert reasons.get("incomplete_response", 0) >= 1
    assert reasons["http_500"] == by_status.get(500) and reasons["http_429"] == by_status.get(429)
    assert sum(reasons.values()) == result["failed"]
