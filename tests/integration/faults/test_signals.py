"""Ctrl-C, SIGTERM, SIGHUP, Ctrl-C twice and SIGKILL mid-sweep: servers stopped, finished jobs
intact, no orphan (every kind of server and signal: test_orphans.py); and a sweep whose proxy
settings lead nowhere."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from tests.helpers.cli import Sweep, sim_processes
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import LiveRun, job_dirs, read_result, run_all, wait_for

# job 0 finishes in a second; job 1 would run for hours
SWEEP = ("-m", "num_prompts=8,100000", "concurrency=4", "server.profile=fast")


@dataclass
class Signalled:
    sweep: Sweep
    run: LiveRun
    servers: list[psutil.Process]
    listening: set[str]
    code: int
    took_s: float
    # servers still alive 5 s (10 s after SIGKILL) after the sweeper exited
    alive: list[psutil.Process]


@pytest.fixture(scope="module")
def signalled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Signalled]:
    """Five sweeps at once, each signalled while its job 1 is mid-benchmark."""
    extra = {
        "SIGINT": (),
        "SIGTERM": (),
        "SIGHUP": (),
        "SIGINT2": (),
        "SIGKILL": ("tracking=none",),
    }
    sweeps = {name: Sweep(tmp_path_factory.mktemp(name)) for name in extra}
    runs = {name: LiveRun(sweeps[name], *SWEEP, *extra[name]) for name in extra}
    try:
        for name, run in runs.items():
            job1 = sweeps[name].sweep_dir / "1"
            wait_for(
                lambda j=job1, r=run: j.exists() or r.proc.poll() is not None, 120, "job 1 to start"
            )
            assert run.proc.poll() is None, run.output[-3000:]
        time.sleep(1.5)  # every job 1 is mid-benchmark
        seen = {}
        for name, run in runs.items():
            servers = sim_processes(str(sweeps[name].root))
            assert servers, "no simulator running"
            listening = {
                c.laddr.ip
                for p in servers
                for c in p.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN
            }
            send(run, name)
            seen[name] = (servers, listening, time.monotonic())
        out = {}
        for name, run in runs.items():
            servers, listening, t0 = seen[name]
            code = run.wait(timeout=30)
            took = time.monotonic() - t0
            _, alive = psutil.wait_procs(servers, timeout=10 if name == "SIGKILL" else 5)
            out[name] = Signalled(sweeps[name], run, servers, listening, code, took, alive)
        return out
    finally:
        for run in runs.values():
            run.reap()


def send(run: LiveRun, name: str) -> None:
    """The signal `name`; SIGINT2 is Ctrl-C, then Ctrl-C again while the servers stop."""
    if name != "SIGINT2":
        run.proc.send_signal(getattr(signal, name))
        return
    run.proc.send_signal(signal.SIGINT)
    wait_for(lambda: run.first("stopping servers") or run.proc.poll() is not None, 30, "stop")
    run.proc.send_signal(signal.SIGINT)


# the README's rows these observations belong to
ROW = {"SIGINT": "sigint", "SIGTERM": "sigterm", "SIGHUP": "sigterm", "SIGINT2": "sigint"}


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


@pytest.mark.parametrize(
    ("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT2", 130)]
)
def test_signal_mid_sweep_stops_servers_keeps_finished_jobs(
    signalled: dict[str, Signalled], fault_row: RecordRow, name: str, code: int
) -> None:
    s = signalled[name]
    sweep = s.sweep
    done, bad = job_files_intact(sweep)
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    kinds = {r.info.run_id: r.data.tags["sweeper.kind"] for r in runs}
    parent = [r.info.status for r in runs if kinds[r.info.run_id] == "sweep"]
    jobs = {
        r.data.tags["sweeper.job_num"]: r.info.status for r in runs if kinds[r.info.run_id] == "job"
    }
    interrupted = read_result(sweep.sweep_dir / "1")["sweeper"]["status"]
    fault_row(
        ROW[name],
        f"{name}: exit {s.code} after {s.took_s:.1f} s; {len(s.alive)} server(s) alive; sweep run "
        f"{parent}, job runs {jobs}; job 0 result intact ({done['completed']} completed), "
        f"job 1 {interrupted}; temp/partial files: {bad or 'none'}",
    )
    if name == "SIGTERM":
        fault_row("bind", f"simulator listening on {sorted(s.listening)}")
        assert s.listening == {"127.0.0.1"}
    assert s.code == code, s.run.output[-3000:]
    assert s.took_s < 15
    assert not s.alive and not sim_processes(str(sweep.root))
    assert parent == ["KILLED"]
    assert jobs == {"0": "FINISHED", "1": "KILLED"}
    assert done["sweeper"]["status"] == "FINISHED" and done["completed"] == 8
    assert interrupted == "KILLED"
    assert not bad


def test_sigkill_mid_sweep_server_dies_with_sweeper(
    signalled: dict[str, Signalled], fault_row: RecordRow
) -> None:
    s = signalled["SIGKILL"]
    done, bad = job_files_intact(s.sweep)
    fault_row(
        "sigkill",
        f"exit {s.code}; {len(s.alive)} server(s) still alive (waited up to 10 s); job 0 "
        f"result intact ({done['completed']} completed); temp/partial files: {bad or 'none'}",
    )
    assert s.code == -signal.SIGKILL
    assert not s.alive and not sim_processes(str(s.sweep.root))
    assert done["completed"] == 8 and not bad


def test_a_sweep_under_proxy_settings_that_lead_nowhere(tmp_path: Path) -> None:
    """Health checks, /metrics scrapes, the prefix-cache reset and the client go to the server
    directly, whatever http_proxy says (no no_proxy for 127.0.0.1 either)."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {v: dead for v in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY")}
    env |= {"no_proxy": "", "NO_PROXY": ""}
    sweep = Sweep(tmp_path)
    overrides = ("-m", "concurrency=1,2", "num_prompts=5", "tracking=none", "server.profile=fast")
    done = run_all({"proxy": (sweep, (*overrides, "report.enabled=false"))}, env=env)["proxy"]
    assert done.returncode == 0, done.output[-3000:]
    results = sweep.results()
    scraped = [
        len(pd.read_parquet(d / "server_metrics.parquet")) for d in job_dirs(sweep.sweep_dir)
    ]
    print(f"http_proxy={dead}: exit 0 in {done.wall_s:.1f} s; completed "
          f"{[r['completed'] for r in results]}; /metrics rows {scraped}")  # fmt: skip
    assert [r["sweeper"]["status"] for r in results] == ["FINISHED", "FINISHED"]
    assert [r["completed"] for r in results] == [5, 5]
    assert [r["sweeper"]["server_reused"] for r in results] == [False, True]  # reset on reuse
    assert all(scraped), "every job scraped /metrics"
    assert "scraping" not in done.output  # no scrape failed
