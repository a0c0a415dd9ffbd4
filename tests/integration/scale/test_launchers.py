"""A 4-job grid against the simulator under the parallel Hydra launchers: every job is an MLflow
child of the one sweep run (SWEEPER_SWEEP_RUN_ID reaches the other processes), none is lost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep
from tests.helpers.mlflow_server import mlflow_server


@dataclass
class ServerSweep(Sweep):
    """Tracking into a given URI (an `mlflow server`)."""

    tracking_uri: str = ""

    @property
    def uri(self) -> str:
        return self.tracking_uri


GRID = ("-m", "concurrency=1,2,3,4", "num_prompts=20", "server.profile=fast", "print_result=false")


def _check_tracked(uri: str, n: int) -> list:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweeper.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("sweeper.kind") == "job"]
    assert len(parents) == 1, [p.data.tags for p in parents]
    assert len(children) == n
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweeper.jobs_done"] == str(n)
    assert parent.data.tags["sweeper.jobs_failed"] == "0"
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.metrics["completed"] == 20
    assert sorted(int(c.data.params["concurrency"]) for c in children) == [1, 2, 3, 4]
    return children


def test_joblib_four_jobs_two_workers_own_gpu_sets_sqlite(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        *GRID, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        "gpus_per_job=1", "gpu_ids=[gpuA,gpuB]",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "validated against ConfigStore schema" not in proc.stderr
    results = sweep.results()
    assert [r["sweeper"]["status"] for r in results] == ["FINISHED"] * 4
    # each worker process holds one GPU for its servers: one GPU per server, none shared
    gpu_of = {r["sweeper"]["server_pid"]: r["sweeper"]["cuda_visible_devices"] for r in results}
    assert set(gpu_of.values()) <= {"gpuA", "gpuB"}
    assert len(set(gpu_of.values())) == len(gpu_of), gpu_of
    _check_tracked(sweep.uri, 4)


def test_submitit_local_four_jobs_into_an_mlflow_server(tmp_path: Path) -> None:
    with mlflow_server(tmp_path / "mlflow") as uri:
        sweep = ServerSweep(tmp_path, uri)
        proc = sweep.run(
            *GRID, "hydra/launcher=submitit_local", "tracking.timeout_s=60", timeout=600
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        results = sweep.results()
        assert [r["sweeper"]["status"] for r in results] == ["FINISHED"] * 4
        # one process per job, one server each
        assert len({r["sweeper"]["server_pid"] for r in results}) == 4
        children = _check_tracked(uri, 4)
        arts = {a.path for a in MlflowClient(uri).list_artifacts(children[0].info.run_id)}
        assert "result.json" in arts
