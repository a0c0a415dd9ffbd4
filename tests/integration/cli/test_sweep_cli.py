"""Issue 2's must-shows: the CLI as a user runs it, into temp dirs and a temp MLflow store."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psutil
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from tests.helpers.cli import Sweep, sim_processes
from tests.helpers.processes import Spawned


def test_three_point_sweep_one_server_three_tracked_jobs(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run("-m", "concurrency=1,8,32", "num_prompts=40", "server.profile=fast")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sweep.results()
    assert [r["completed"] for r in results] == [40, 40, 40]
    throughput = [r["output_throughput"] for r in results]
    assert throughput[0] < throughput[1] < throughput[2]
    extras = [r["sweeper"] for r in results]
    assert [e["server_reused"] for e in extras] == [False, True, True]
    assert len({e["server_pid"] for e in extras}) == 1
    assert len(list((sweep.sweep_dir / "servers").iterdir())) == 1, "exactly one server start"
    assert not psutil.pid_exists(extras[0]["server_pid"])
    assert "Serving Benchmark Result (SIMULATED server)" in proc.stdout

    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweeper.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("sweeper.kind") == "job"]
    assert len(parents) == 1 and len(children) == 3
    assert parents[0].info.status == "FINISHED"
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.tags["sweeper.simulated"] == "true"
        assert {"output_throughput", "median_ttft_ms"} <= set(child.data.metrics)
    assert sorted(int(c.data.params["concurrency"]) for c in children) == [1, 8, 32]
    arts = {a.path for a in client.list_artifacts(children[0].info.run_id)}
    assert {"result.json", "requests.parquet", "server.log"} <= arts


def test_wrong_type_fails_at_composition_naming_the_key(tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = Sweep(tmp_path).run("concurrency=abc")
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 20
    assert "concurrency" in proc.stderr
    assert not (tmp_path / "run" / "servers").exists()


def test_negative_concurrency_is_one_line_before_any_server(tmp_path: Path) -> None:
    proc = Sweep(tmp_path).run("concurrency=-4", "tracking=none")
    assert proc.returncode == 1
    assert "concurrency: must be >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "servers").exists()


def test_dead_external_server_is_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = Sweep(tmp_path).run("server=external", f"server.base_url={url}", "tracking=none")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "[sweeper]" in line]
    assert len(errors) == 1 and url in errors[0]


def test_sigint_mid_sweep_stops_server_and_marks_sweep_killed(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    args = sweep.args("-m", "concurrency=1,2", "num_prompts=20000", "server.profile=fast")
    with Spawned(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as sweeper:
        proc = sweeper.proc
        deadline = time.monotonic() + 60
        while not sim_processes(str(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.2)
        servers = sim_processes(str(tmp_path))
        assert servers, "the simulator never started"
        time.sleep(2)  # mid-benchmark
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, _ = proc.communicate(timeout=15)
        assert time.monotonic() - t0 < 15
    assert proc.returncode == 130, out[-2000:]
    psutil.wait_procs(servers, timeout=5)
    assert not sim_processes(str(tmp_path)), "simulator left running"
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    parents = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'sweep'")
    assert [p.info.status for p in parents] == ["KILLED"]
