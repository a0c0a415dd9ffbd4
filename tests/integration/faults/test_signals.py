"""Ctrl-C, SIGTERM and SIGKILL mid-sweep: servers stopped, finished jobs intact, no orphan."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep, sim_processes
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import LiveRun, job_dirs, read_result, wait_for

# job 0 finishes in a second; job 1 would run for hours
SWEEP = ("-m", "num_prompts=8,100000", "concurrency=4", "server.profile=fast")


def start_mid_sweep(sweep: Sweep, *extra: str) -> tuple[LiveRun, list[psutil.Process]]:
    run = LiveRun(sweep, *SWEEP, *extra)
    job1 = sweep.sweep_dir / "1"
    wait_for(lambda: job1.exists() or run.proc.poll() is not None, 90, "job 1 to start")
    assert run.proc.poll() is None, run.output[-3000:]
    servers = sim_processes(str(sweep.root))
    assert servers, "no simulator running"
    time.sleep(1.5)  # job 1 is mid-benchmark
    return run, servers


def job_files_intact(sweep: Sweep) -> tuple[dict, list[str]]:
    """Job 0's result and the names of any temp or unreadable files in the job dirs."""
    done = read_result(sweep.sweep_dir / "0")
    assert len(pd.read_parquet(sweep.sweep_dir / "0" / "requests.parquet")) == 8
    bad = []
    for d in job_dirs(sweep.sweep_dir):
        bad += [p.name for p in d.iterdir() if p.name.startswith(".") and p.is_file()]
        if (d / "result.json").exists():
            try:
                json.loads((d / "result.json").read_text())
            except ValueError:
                bad.append(f"{d.name}/result.json")
    return done, bad


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_sweep_stops_servers_keeps_finished_jobs(
    tmp_path: Path, fault_row: RecordRow, sig: signal.Signals, code: int
) -> None:
    sweep = Sweep(tmp_path)
    run, servers = start_mid_sweep(sweep)
    with run:
        listening = {
            c.laddr.ip
            for p in servers
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        run.proc.send_signal(sig)
        t0 = time.monotonic()
        rc = run.wait(timeout=30)
        took = time.monotonic() - t0
    _, alive = psutil.wait_procs(servers, timeout=5)
    done, bad = job_files_intact(sweep)
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    parent = [r.info.status for r in runs if r.data.tags["sweeper.kind"] == "sweep"]
    kinds = {r.info.run_id: r.data.tags["sweeper.kind"] for r in runs}
    jobs = {
        r.data.tags["sweeper.job_num"]: r.info.status for r in runs if kinds[r.info.run_id] == "job"
    }
    interrupted = read_result(sweep.sweep_dir / "1")["sweeper"]["status"]
    fault_row(
        sig.name.lower(),
        f"exit {rc} after {took:.1f} s; {len(alive)} server(s) alive; sweep run {parent}, "
        f"job runs {jobs}; job 0 result intact ({done['completed']} completed), job 1 "
        f"{interrupted}; temp/partial files: {bad or 'none'}",
    )
    if sig == signal.SIGTERM:
        fault_row("bind", f"simulator listening on {sorted(listening)}")
        assert listening == {"127.0.0.1"}
    assert rc == code, run.output[-3000:]
    assert took < 15
    assert not alive and not sim_processes(str(tmp_path))
    assert parent == ["KILLED"]
    assert jobs == {"0": "FINISHED", "1": "KILLED"}
    assert done["sweeper"]["status"] == "FINISHED" and done["completed"] == 8
    assert interrupted == "KILLED"
    assert not bad


def test_sigkill_mid_sweep_server_dies_with_sweeper(tmp_path: Path, fault_row: RecordRow) -> None:
    sweep = Sweep(tmp_path)
    run, servers = start_mid_sweep(sweep, "tracking=none")
    with run:
        run.proc.send_signal(signal.SIGKILL)
        rc = run.wait(timeout=10)
    t0 = time.monotonic()
    _, alive = psutil.wait_procs(servers, timeout=10)
    took = time.monotonic() - t0
    done, bad = job_files_intact(sweep)
    fault_row(
        "sigkill",
        f"exit {rc}; server gone {took:.1f} s later ({len(alive)} alive); job 0 result intact "
        f"({done['completed']} completed); temp/partial files: {bad or 'none'}",
    )
    assert rc == -signal.SIGKILL
    assert not alive and not sim_processes(str(tmp_path))
    assert done["completed"] == 8 and not bad
