"""Faults of the server process: fails to start, never healthy, crashes, stalls, HTTP errors."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import Done, job_dirs, read_result, run_all

# the end-of-sweep report (PNG + HTML) is not what these rows are about: spare the CPU
FAST = ("server.profile=fast", "load.progress=false", "report.enabled=false")
STALL_TIMEOUT_S, GRACE_S = 2.0, 10.0
STALL_REQUESTS = 24

RUNS: dict[str, tuple[str, ...]] = {
    # a bad argument: the simulator exits at once (argparse), twice; then a good server config
    "exits": (
        "-m", "server.profile=nosuch,fast", "concurrency=1,2", "num_prompts=5",
        "report.enabled=false",
    ),
    "unhealthy": (
        "-m", "server.slow_start_s=600,0", "concurrency=1,2", "num_prompts=5",
        "server.ready_timeout_s=3", "tracking=none", *FAST,
    ),
    # the 21st request kills the server; the next job's 6 requests need a new one
    "crash": (
        "-m", "num_prompts=30,6", "server.crash_after=20", "concurrency=4", "tracking=none", *FAST,
    ),
    # about half the requests stall (by a draw on each request id, new every run): the job's
    # verdict is not what this run shows, so no share of successes is asked for. With 24 requests
    # a run where none or all stall is a one-in-10^7 chance (12 gave one in 2,000)
    "stall": (
        "server.stall_rate=0.5", "server.stall_s=300", f"load.request_timeout_s={STALL_TIMEOUT_S}",
        f"num_prompts={STALL_REQUESTS}", f"concurrency={STALL_REQUESTS}",
        "min_success_fraction=0", "tracking=none", *FAST,
    ),
    # faults are drawn on each request id, new every run: 150 requests make a run without a
    # 429 or a cut stream a one-in-10^9 chance (60 gave one in 5,000)
    "http": (
        "server.fail_500_rate=0.15", "server.fail_429_rate=0.15", "server.cut_stream_rate=0.2",
        "num_prompts=150", "concurrency=8", "tracking=none", *FAST,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Done]:
    sweeps = {name: Sweep(tmp_path_factory.mktemp(name)) for name in RUNS}
    return run_all({name: (sweeps[name], RUNS[name]) for name in RUNS})


def statuses(sweep: Sweep) -> list[str]:
    return [r["sweeper"]["status"] for r in sweep.results()]


def server_starts(sweep: Sweep) -> int:
    return len(list((sweep.sweep_dir / "servers").iterdir()))


def test_server_exits_at_once_job_failed_sweep_goes_on_retried(
    ran: dict[str, Done], fault_row: RecordRow
) -> None:
    proc = ran["exits"]
    sweep = proc.sweep
    results = sweep.results()
    errors = [r["sweeper"]["error"] for r in results]
    fault_row(
        "start_exits",
        f"jobs {statuses(sweep)}, {server_starts(sweep)} server starts, exit {proc.returncode}; "
        f"job 0 error: {errors[0].splitlines()[0].split(';')[0]}; log tail … "
        f"`{errors[0].splitlines()[-1].strip()}`",
    )
    assert proc.returncode == 1, proc.output[-2000:]
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
    ran: dict[str, Done], fault_row: RecordRow
) -> None:
    proc = ran["unhealthy"]
    sweep = proc.sweep
    results = sweep.results()
    error = results[0]["sweeper"]["error"]
    fault_row(
        "start_unhealthy",
        f"jobs {statuses(sweep)}, {server_starts(sweep)} server starts, whole sweep "
        f"{proc.wall_s:.0f} s; job 0 error: {error.splitlines()[0].split(';')[0]}",
    )
    assert proc.returncode == 1, proc.output[-2000:]
    assert statuses(sweep) == ["FAILED", "FAILED", "FINISHED", "FINISHED"]
    for r in results[:2]:
        assert "server not ready after 3s" in r["sweeper"]["error"]
        assert "answered 503" in r["sweeper"]["error"]
        assert "last lines of" in r["sweeper"]["error"], "the server log tail is in the error"
    assert server_starts(sweep) == 3
    assert proc.stderr.count("FAILED: server not ready") == 2


def test_server_crash_mid_benchmark_fails_job_and_next_job_restarts(
    ran: dict[str, Done], fault_row: RecordRow
) -> None:
    proc = ran["crash"]
    sweep = proc.sweep
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
    assert proc.returncode == 1, proc.output[-2000:]
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
    assert "died since the last job" in proc.output


def test_server_stall_times_out_per_request(ran: dict[str, Done], fault_row: RecordRow) -> None:
    proc = ran["stall"]
    run = proc.sweep.root / "run"
    result = read_result(run)
    records = pd.read_parquet(run / "requests.parquet")
    timeouts = records[records["error"].str.startswith("timeout")]
    first = timeouts["error"].iloc[0] if len(timeouts) else ""
    fault_row(
        "stall",
        f"{len(timeouts)}/{STALL_REQUESTS} requests failed `{first}`, "
        f"benchmark {result['duration']:.1f} s (timeout {STALL_TIMEOUT_S:g} s), "
        f"whole run {proc.wall_s:.0f} s; job {result['sweeper']['status']}",
    )
    assert proc.returncode == 0, proc.output[-2000:]
    assert len(timeouts) >= 1 and result["completed"] >= 1
    assert result["completed"] + len(timeouts) == STALL_REQUESTS
    assert result["duration"] < STALL_TIMEOUT_S + GRACE_S
    assert (timeouts["e2el_ms"].isna()).all()


def test_http_errors_and_cut_streams_counted_benchmark_goes_on(
    ran: dict[str, Done], fault_row: RecordRow
) -> None:
    proc = ran["http"]
    run = proc.sweep.root / "run"
    result = read_result(run)
    records = pd.read_parquet(run / "requests.parquet")
    reasons = result["sweeper"]["errors_by_reason"]
    by_status = records["http_status"].value_counts().to_dict()
    fault_row(
        "http_errors",
        f"job {result['sweeper']['status']}: completed {result['completed']}, failed "
        f"{result['failed']}, by reason {reasons}",
    )
    assert proc.returncode == 0, proc.output[-2000:]
    assert result["sweeper"]["status"] == "FINISHED"
    assert result["completed"] + result["failed"] == 150
    assert reasons.get("http_500", 0) >= 1 and reasons.get("http_429", 0) >= 1
    assert reasons.get("incomplete_response", 0) >= 1
    assert reasons["http_500"] == by_status.get(500) and reasons["http_429"] == by_status.get(429)
    assert sum(reasons.values()) == result["failed"]
