"""A 4-point grid as Ray tasks (`hydra/launcher=ray`, sweeper's own launcher) on a Ray cluster
started apart from the sweep and reached by its address, into an `mlflow server`: every job a
FINISHED child of the one sweep run, each with a server of its own, nothing left behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.cli import sim_processes
from tests.helpers.mlflow_server import mlflow_server
from tests.integration.scale.test_launchers import GRID, ServerSweep, _check_tracked

pytestmark = pytest.mark.ray


def test_ray_grid_on_a_cluster_by_address(tmp_path: Path, ray_cluster: str) -> None:
    started = time.monotonic()
    with mlflow_server(tmp_path / "mlflow") as uri:
        sweep = ServerSweep(tmp_path, uri)
        proc = sweep.run(
            *GRID, "hydra/launcher=ray", f"hydra.launcher.address={ray_cluster}",
            "tracking.timeout_s=60", timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        results = sweep.results()
        assert [r["sweeper"]["status"] for r in results] == ["FINISHED"] * 4
        # one task per job, each with its own server
        assert len({r["sweeper"]["server_pid"] for r in results}) == 4
        _check_tracked(uri, 4)
        assert (sweep.sweep_dir / "report" / "report.html").is_file()
    assert not sim_processes(str(tmp_path)), "a simulator outlived its Ray task"
    print(f"\n[ray] grid of 4 on a Ray cluster in {time.monotonic() - started:.1f} s")
