"""sweeper's launchers without a cluster: the presets compose onto our classes with the GPUs of
`gpus_per_job`, and a SLURM job that ended without a result is noticed (not waited on forever)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.plugins import Plugins

from hydra_plugins.sweeper_launchers import _slurm
from sweeper.schema import CONF_DIR, register


def launcher_node(*overrides: str) -> dict:
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    return dict(cfg.hydra.launcher)


def test_ray_preset_reserves_gpus_per_job() -> None:
    node = launcher_node("hydra/launcher=ray", "gpus_per_job=2")
    assert node["_target_"] == "hydra_plugins.sweeper_launchers.ray_launcher.RayLauncher"
    assert node["num_gpus"] == 2 and node["num_cpus"] == 1 and node["address"] is None


def test_slurm_preset_is_our_launcher_asking_gpus_per_node() -> None:
    node = launcher_node("hydra/launcher=submitit_slurm", "gpus_per_job=4")
    assert node["_target_"] == "hydra_plugins.sweeper_launchers._slurm.SweeperSlurmLauncher"
    assert node["gpus_per_node"] == 4


def test_hydra_discovers_both_launchers() -> None:
    from hydra.plugins.launcher import Launcher

    names = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Launcher)}
    assert "hydra_plugins.sweeper_launchers.ray_launcher.RayLauncher" in names
    assert "hydra_plugins.sweeper_launchers._slurm.SweeperSlurmLauncher" in names


@dataclass
class _Paths:
    result_pickle: Path


@dataclass
class _Job:
    job_id: str
    paths: _Paths


def test_wait_ended_returns_for_a_job_slurm_ended_without_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = tmp_path / "0_result.pkl"
    done.write_bytes(b"")
    jobs = [_Job("7_0", _Paths(done)), _Job("7_1", _Paths(tmp_path / "1_result.pkl"))]
    seen = iter(["PENDING", "RUNNING", "CANCELLED"])
    monkeypatch.setattr(_slurm, "slurm_state", lambda job_id: next(seen, "CANCELLED"))
    monkeypatch.setattr(_slurm, "POLL_S", 0.0)
    monkeypatch.setattr(_slurm, "RESULT_GRACE_S", 0.0)
    assert _slurm.wait_ended(jobs) == {"7_0": "COMPLETED", "7_1": "CANCELLED"}


def test_slurm_state_of_a_forgotten_job_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def scontrol(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            [], 1, "", "slurm_load_jobs error: Invalid job id specified"
        )

    monkeypatch.setattr(_slurm.subprocess, "run", scontrol)
    assert _slurm.slurm_state("12") == "GONE"
