"""Real clusters for the `slurm` and `ray` tests: brought up by the project's own scripts, and
torn down by the fixture's finalizer whatever the test did (its jobs cancelled, the daemons
stopped, then checked gone)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[3]
SLURM_DAEMONS = ("slurmctld", "slurmd", "slurmstepd")
RAY_DAEMONS = ("raylet", "gcs_server")


def named(names: tuple[str, ...]) -> list[psutil.Process]:
    """Running processes with one of these names (or a `ray::` worker when asked for ray)."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] in names or any(f"/{n} " in f"{cmd} " for n in names):
            found.append(p)
    return found


def wait_gone(names: tuple[str, ...], timeout_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while (left := named(names)) and time.monotonic() < deadline:
        time.sleep(0.3)
    return left


@pytest.fixture
def slurm_cluster() -> Iterator[str]:
    """A single-node SLURM cluster (scripts/setup-slurm.sh); yields the job name the test's jobs
    must carry (hydra.launcher.name), so the finalizer cancels exactly them."""
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.fail("no SLURM and no apt-get to install it (scripts/setup-slurm.sh)")
    subprocess.run(["bash", str(REPO / "scripts/setup-slurm.sh")], check=True, timeout=600)
    job_name = f"sweeper-test-{os.getpid()}"
    try:
        yield job_name
    finally:
        subprocess.run(["scancel", "--name", job_name], check=False, timeout=30)
        # no job step may outlive the test: SLURM kills the steps of cancelled jobs
        left = wait_gone(("slurmstepd",), timeout_s=30)
        subprocess.run(["bash", str(REPO / "scripts/setup-slurm.sh"), "stop"], check=True)
        left += wait_gone(SLURM_DAEMONS, timeout_s=15)
        assert not left, f"SLURM processes left: {[(p.pid, p.info['cmdline']) for p in left]}"


@pytest.fixture
def ray_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local Ray cluster in processes of its own (`ray start --head`, lean: 2 CPUs, no
    dashboard, a small object store), as a real cluster's head; yields its address. `ray stop`
    at the end, then no raylet or GCS may be left.

    Token authentication as on a real cluster, with a token of this test's own in the
    environment (the cluster and the sweep both inherit it): Ray otherwise takes the token
    from ~/.ray/auth_token, which a local `ray.init()` run before may have written, and the
    head and its clients would not agree on whether one is needed."""
    from launchers.process import free_port

    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)

    if shutil.which("ray") is None:
        pytest.fail("no `ray` command: pip install -e '.[ray]'")
    port = free_port()
    # Ray's unix sockets live under --temp-dir: a pytest tmp_path is too long for them
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = [
        "ray", "start", "--head", f"--port={port}", "--num-cpus=2", "--num-gpus=0",
        "--include-dashboard=false", "--object-store-memory=100000000",
        "--disable-usage-stats", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    try:
        out = subprocess.run(start, env=env, timeout=180, capture_output=True, text=True)
        assert out.returncode == 0, f"ray start failed: {out.stderr[-2000:]}"
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(["ray", "stop", "--force"], check=False, env=env, timeout=120,
                       capture_output=True)  # fmt: skip
        left = wait_gone(RAY_DAEMONS, timeout_s=30)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f"Ray processes left: {[(p.pid, p.info['cmdline']) for p in left]}"
