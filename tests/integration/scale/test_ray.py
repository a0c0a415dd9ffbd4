"""A 4-point grid as Ray tasks (`hydra/launcher=ray`, sweeper's own launcher) on a Ray cluster
started apart from the sweep and reached by its address, into an `mlflow server`. The worker
process of one job is SIGKILLed mid-benchmark (a lost node): that job is a FAILED job run, the
others FINISHED children of the one sweep run; `resume=true` on the same cluster reruns it, and
nothing is left behind."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import sim_processes
from tests.helpers.mlflow_server import mlflow_server
from tests.helpers.processes import Spawned
from tests.integration.scale.test_launchers import ServerSweep
from tests.integration.scale.test_slurm import sweep_runs, wait_for

pytestmark = pytest.mark.ray

GRID = ("-m", "concurrency=1,2,3,4", "request_rate=5", "num_prompts=30", "server.profile=fast")


def ray_args(address: str) -> tuple[str, ...]:
    return ("hydra/launcher=ray", f"hydra.launcher.address={address}", "print_result=false",
            "tracking.timeout_s=60")  # fmt: skip


def kill_worker_of(job_log: Path) -> None:
    """SIGKILL the Ray worker process that runs the job writing `job_log`."""
    for p in psutil.process_iter(["cmdline"]):
        if not " ".join(p.info["cmdline"] or []).startswith("ray::"):
            continue
        try:
            if any(Path(f.path) == job_log for f in p.open_files()):
                p.kill()
                return
        except psutil.Error:
            continue
    raise AssertionError(f"no Ray worker writes {job_log}")


def test_ray_grid_on_a_cluster_by_address(tmp_path: Path, ray_cluster: str) -> None:
    started = time.monotonic()
    with mlflow_server(tmp_path / "mlflow") as uri:
        first = ServerSweep(tmp_path / "a", uri)
        with Spawned(first.args(*GRID, *ray_args(ray_cluster)), log=tmp_path / "a.log") as sweep:
            job_log = first.sweep_dir / "1" / "cli.log"
            wait_for(job_log)
            time.sleep(2.0)
            kill_worker_of(job_log.resolve())
            assert sweep.proc.wait(timeout=400) == 1, (tmp_path / "a.log").read_text()[-3000:]
        results = first.results()
        assert [r["sweeper"]["status"] for r in results] == [
            "FINISHED", "FAILED", "FINISHED", "FINISHED",
        ]  # fmt: skip
        assert "Ray task of job 1 failed" in results[1]["sweeper"]["error"]
        # one task per job, each with its own server
        pids = [r["sweeper"]["server_pid"] for r in results if r["sweeper"]["server_pid"]]
        assert len(pids) == len(set(pids)) == 3
        assert (first.sweep_dir / "report" / "report.html").is_file()

        second = ServerSweep(tmp_path / "b", uri)
        proc = second.run(*GRID, *ray_args(ray_cluster), "resume=true", timeout=400)
        assert proc.returncode == 0, proc.stderr[-3000:]

        parents, children = sweep_runs(MlflowClient(uri))
        killed, resumed = parents
        assert killed.info.status == "FAILED"
        assert killed.data.tags["sweeper.jobs_failed"] == "1"
        status = {r.data.params["concurrency"]: r.info.status for r in children[killed.info.run_id]}
        assert status == {"1": "FINISHED", "2": "FAILED", "3": "FINISHED", "4": "FINISHED"}
        assert resumed.info.status == "FINISHED"
        (rerun,) = children[resumed.info.run_id]
        assert rerun.data.params["concurrency"] == "2"
        assert rerun.info.status == "FINISHED" and rerun.data.metrics["completed"] == 30
    assert not sim_processes(str(tmp_path)), "a simulator outlived its Ray task"
    print(f"\n[ray] grid of 4 + resume of 1 on a Ray cluster in {time.monotonic() - started:.1f} s")
