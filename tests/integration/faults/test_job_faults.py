"""Faults at the job level, through `python -m sweeper` and the simulator: a server that dies
early (the job FAILED with the counts, every record kept), the job deadline (`job_timeout_s`),
and a reused server that hangs between jobs (health-checked, replaced)."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep, sim_processes
from tests.integration.faults.live import Done, LiveRun, job_dirs, read_result, run_all, wait_for

FAST = ("server.profile=fast", "load.progress=false", "report.enabled=false")
DEADLINE_S = 4.0

RUNS: dict[str, tuple[str, ...]] = {
    # the 11th request kills the server: 390 requests are left to a dead port
    "dies": ("server.crash_after=10", "num_prompts=400", "concurrency=4", *FAST),
    # job 0 stalls every stream far beyond the deadline; job 1 (another server) is fine
    "deadline": (
        "-m", "server.stall_rate=1,0", "server.stall_s=300", "load.request_timeout_s=600",
        f"job_timeout_s={DEADLINE_S:g}", "num_prompts=8", "concurrency=4", *FAST,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Done]:
    sweeps = {name: Sweep(tmp_path_factory.mktemp(name)) for name in RUNS}
    return run_all({name: (sweeps[name], RUNS[name]) for name in RUNS})


def job_runs(sweep: Sweep) -> list:
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    return sorted(runs, key=lambda r: int(r.data.tags["sweeper.job_num"]))


def test_server_dies_after_10_of_400_job_failed_with_counts_records_kept(
    ran: dict[str, Done],
) -> None:
    proc = ran["dies"]
    run_dir = proc.sweep.root / "run"
    result = read_result(run_dir)
    records = pd.read_parquet(run_dir / "requests.parquet")
    error = result["sweeper"]["error"]
    print(f"\nROW server dies after 10 of 400 | exit {proc.returncode}, `{error}` | "
          f"{proc.wall_s:.1f} s | {len(records)} of 400 records | "
          f"{len(sim_processes(str(proc.sweep.root)))} left")  # fmt: skip
    assert proc.returncode == 1, proc.output[-2000:]
    assert result["sweeper"]["status"] == "FAILED"
    pid = result["sweeper"]["server_pid"]
    completed = result["completed"]
    assert 10 - 4 < completed <= 10  # up to 3 others were in flight when it died
    pct = int(100 * completed / 400)
    # the client stops starting requests once load.max_connect_failures (20) in a row got no
    # answer: the rest are not sent, and not recorded
    not_sent = 400 - len(records)
    assert 20 <= len(records) < 400
    assert error == (
        f"{completed} of 400 requests completed ({pct} %), {not_sent} not sent: "
        f"server (pid {pid}) exited during the benchmark"
    )
    assert f"[sweeper] job FAILED: {error}" in proc.stderr
    assert int(records["success"].sum()) == completed
    (job,) = job_runs(proc.sweep)
    assert job.info.status == "FAILED" and job.data.tags["sweeper.error"] == error
    assert not sim_processes(str(proc.sweep.root))


def test_job_deadline_fails_that_job_and_the_sweep_goes_on(ran: dict[str, Done]) -> None:
    proc = ran["deadline"]
    late, fine = proc.sweep.results()
    error = late["sweeper"]["error"]
    records = pd.read_parquet(proc.sweep.sweep_dir / "0" / "requests.parquet")
    print(f"\nROW job deadline hit | exit {proc.returncode}, job 0 `{error}`, job 1 "
          f"{fine['sweeper']['status']} | {proc.wall_s:.1f} s for the sweep "
          f"(job_timeout_s={DEADLINE_S:g}) | {len(records)} of job 0's requests kept "
          f"(in flight at the deadline: cancelled) | "
          f"{len(sim_processes(str(proc.sweep.root)))} left")  # fmt: skip
    assert proc.returncode == 1, proc.output[-2000:]
    reason = f"job_timeout_s={DEADLINE_S:g} reached during the benchmark"
    # every stream stalls: the 4 in flight are kept as cancelled, the other 4 never sent
    assert len(records) == 4 and set(records["error"]) == {f"cancelled: {reason}"}
    assert (late["sweeper"]["status"], error) == (
        "FAILED",
        f"0 of 8 requests completed (0 %), 4 not sent: {reason}",
    )
    assert fine["sweeper"]["status"] == "FINISHED" and fine["completed"] == 8
    assert [r.info.status for r in job_runs(proc.sweep)] == ["FAILED", "FINISHED"]
    assert f"[sweeper] job 0 FAILED: {error}" in proc.stderr
    # far below the 600 s a stalled request may take: the deadline ended it
    assert proc.wall_s < 120


def test_hung_reused_server_is_replaced_before_the_next_job(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SIGSTOP the server during job 0: it is alive but answers nothing. Job 1 (same server
    config) must not inherit it."""
    sweep = Sweep(tmp_path_factory.mktemp("hung"))
    overrides = (
        "-m", "load.request_timeout_s=2,2.5", "num_prompts=60", "request_rate=20",
        "concurrency=null", "server.stop_timeout_s=2", "tracking=none", *FAST,
    )  # fmt: skip
    with LiveRun(sweep, *overrides) as live:
        wait_for(lambda: live.first("server ready at") is not None, 60, "the server")
        (server,) = sim_processes(str(sweep.root))
        time.sleep(1.0)  # into job 0's 3 s of sends
        os.kill(server.pid, signal.SIGSTOP)
        t_stop = time.monotonic() - live.t0
        code = live.wait(180)
    first, second = sweep.results()
    kept = len(pd.read_parquet(job_dirs(sweep.sweep_dir)[0] / "requests.parquet"))
    warning = next((line for _, line in live.lines if "is not healthy" in line), "")
    t_warn = live.first("is not healthy") or 0.0
    print(f"\nROW hung reused server | job 1 on a new server (pid {first['sweeper']['server_pid']}"
          f" → {second['sweeper']['server_pid']}), {second['sweeper']['status']}; warning: "
          f"`{warning.split(' - ', 1)[-1]}` | replaced {t_warn - t_stop:.1f} s after the hang "
          f"(job 0 ended by its request timeouts) | job 0 kept {kept} of 60 | "
          f"{len(sim_processes(str(sweep.root)))} left")  # fmt: skip
    assert code in (0, 1), live.output[-2000:]
    assert "GET /health: no answer in 5 s" in warning
    assert live.output.count("is not healthy since the last job") == 1
    assert second["sweeper"]["server_reused"] is False
    assert second["sweeper"]["server_pid"] != first["sweeper"]["server_pid"]
    assert second["sweeper"]["status"] == "FINISHED" and second["completed"] == 60
    assert not psutil.pid_exists(server.pid) or server.status() == psutil.STATUS_ZOMBIE
