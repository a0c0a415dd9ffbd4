"""A 4-point grid through a real single-node SLURM cluster (`hydra/launcher=submitit_slurm`:
sbatch, one job per point) into an `mlflow server`. One job is cancelled with `scancel`
(SIGTERM: it records itself KILLED), the process of another is SIGKILLed as the OOM killer or a
lost node would (no chance to record: the launcher records it FAILED): the sweep still ends,
with its report, and `resume=true` reruns exactly those two."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import sim_processes
from tests.helpers.mlflow_server import mlflow_server
from tests.helpers.processes import Spawned, run_captured
from tests.integration.scale.conftest import named
from tests.integration.scale.test_launchers import ServerSweep

pytestmark = pytest.mark.slurm

GRID = ("-m", "concurrency=1,2,3,4", "request_rate=5", "num_prompts=40", "server.profile=fast")


def slurm_args(job_name: str) -> tuple[str, ...]:
    return (
        "hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug",
        "hydra.launcher.cpus_per_task=1", f"hydra.launcher.name={job_name}",
        "print_result=false", "tracking.timeout_s=60",
    )  # fmt: skip


def array_task(job_name: str, index: int, timeout_s: float = 120) -> str:
    """`<array id>_<index>` of the test's array job once that task runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["squeue", "-h", "--name", job_name, "-t", "RUNNING", "-o", "%i"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        for task in out:
            if task.endswith(f"_{index}"):
                return task
        time.sleep(0.3)
    raise AssertionError(f"array task {index} of {job_name} never ran")


def kill_job_process(task: str) -> None:
    """SIGKILL the job's python (scancel always sends SIGTERM first, KillWait before SIGKILL)."""
    array_id, index = task.split("_")
    for p in psutil.process_iter(["cmdline"]):
        if "submitit.core._submit" not in " ".join(p.info["cmdline"] or []):
            continue
        try:
            env = p.environ()
        except psutil.Error:
            continue
        if env.get("SLURM_ARRAY_JOB_ID") == array_id and env.get("SLURM_ARRAY_TASK_ID") == index:
            p.kill()
            return
    raise AssertionError(f"no process of SLURM job {task}")


def wait_for(path: Path, text: str = "", timeout_s: float = 120) -> None:
    """Until `path` exists (and holds `text`)."""
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and text in path.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"{path} never appeared (or never said {text!r})"
        time.sleep(0.2)


def sweep_runs(client: MlflowClient) -> tuple[list, dict[str, list]]:
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    parents = [r for r in runs if r.data.tags.get("sweeper.kind") == "sweep"]
    children: dict[str, list] = {p.info.run_id: [] for p in parents}
    for r in runs:
        if r.data.tags.get("sweeper.kind") == "job":
            children[r.data.tags["mlflow.parentRunId"]].append(r)
    return parents, children


def test_slurm_grid_cancelled_jobs_recorded_and_resumed(tmp_path: Path, slurm_cluster: str) -> None:
    started = time.monotonic()
    with mlflow_server(tmp_path / "mlflow") as uri:
        first = ServerSweep(tmp_path / "a", uri)
        argv = first.args(*GRID, *slurm_args(slurm_cluster))
        with Spawned(argv, log=tmp_path / "first.log") as sweep:
            # job 1 mid-benchmark: SIGTERM, the job records itself KILLED
            # (its server up: a loaded machine can take seconds to compose, import and start it)
            wait_for(first.sweep_dir / "1" / "cli.log", "server ready at")
            task1 = array_task(slurm_cluster, 1)
            time.sleep(1.0)
            subprocess.run(["scancel", task1], check=True)
            # job 2 mid-benchmark: SIGKILL, nothing of it records; the launcher does
            # (its server up: a loaded machine can take seconds to compose, import and start it)
            wait_for(first.sweep_dir / "2" / "cli.log", "server ready at")
            task2 = array_task(slurm_cluster, 2)
            time.sleep(1.0)
            kill_job_process(task2)
            assert sweep.proc.wait(timeout=300) == 1, (tmp_path / "first.log").read_text()[-3000:]
        log = (tmp_path / "first.log").read_text()
        assert f"SLURM job {task2} ended" in log, log[-3000:]

        results = first.results()
        status = [r["sweeper"]["status"] for r in results]
        assert status == ["FINISHED", "KILLED", "FAILED", "FINISHED"], status
        assert "without a result" in results[2]["sweeper"]["error"]
        # per-job servers: every job that ran started its own
        pids = [r["sweeper"]["server_pid"] for r in results if r["sweeper"]["server_pid"]]
        assert len(pids) == len(set(pids)) >= 3
        # SLURM's logs in every job dir; the cancelled job's says why it stopped
        for num in range(4):
            assert (first.sweep_dir / str(num) / "slurm.out").is_file()
        assert "SIGTERM" in (first.sweep_dir / "1" / "slurm.err").read_text()
        assert (first.sweep_dir / "report" / "report.html").is_file()

        second = ServerSweep(tmp_path / "b", uri)
        proc = run_captured(
            second.args(*GRID, *slurm_args(slurm_cluster), "resume=true"), timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        # a job's console is its SLURM stdout
        skipped = [
            n
            for n in range(4)
            if "skipped (resume)" in (second.sweep_dir / f"{n}/slurm.out").read_text()
        ]
        assert skipped == [0, 3]
        assert (second.sweep_dir / "report" / "report.html").is_file()

        client = MlflowClient(uri)
        parents, children = sweep_runs(client)
        assert len(parents) == 2
        killed, resumed = parents
        assert killed.info.status == "FAILED"  # as a local sweep with a failed job
        assert killed.data.tags["sweeper.jobs_done"] == "4"
        assert killed.data.tags["sweeper.jobs_failed"] == "2"
        by_concurrency = {
            r.data.params["concurrency"]: r.info.status for r in children[killed.info.run_id]
        }
        assert by_concurrency == {"1": "FINISHED", "2": "KILLED", "3": "FAILED", "4": "FINISHED"}
        assert resumed.info.status == "FINISHED"
        assert resumed.data.tags["sweeper.jobs_failed"] == "0"
        rerun = children[resumed.info.run_id]
        assert sorted(r.data.params["concurrency"] for r in rerun) == ["2", "3"]
        assert all(r.info.status == "FINISHED" for r in rerun)
        assert all(r.data.metrics["completed"] == 40 for r in rerun)
        carried = json.loads((second.sweep_dir / "0" / "result.json").read_text())
        assert carried["sweeper"]["resumed_from"] == resumed.data.tags["sweeper.resumed.0"]
    # nothing left: no job step, no simulator of this test
    assert not named(("slurmstepd",)), "a SLURM job step outlived its sweep"
    assert not sim_processes(str(tmp_path))
    print(f"\n[slurm] grid of 4 + resume of 2 in {time.monotonic() - started:.1f} s")
