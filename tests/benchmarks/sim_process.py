"""Start the simulator (`python -m launchers.sim`) for a benchmark: own process group, free
port, ready on /health, always stopped and reaped. SWEEPER_SIM_PYTHONPATH, when set, is put in
front of the simulator's PYTHONPATH (to measure against a simulator tree not yet on this
branch)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_sim(*args: str, ready_timeout_s: float = 30.0) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ)
    extra = os.environ.get("SWEEPER_SIM_PYTHONPATH")
    if extra:
        env["PYTHONPATH"] = os.pathsep.join([extra, env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "launchers.sim", "--port", str(port), "--log-level", "WARNING"]
    proc = subprocess.Popen([*cmd, *args], cwd=extra or REPO, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"simulator exited with code {proc.returncode}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("simulator not ready in time")
            time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def ground_truth(base_url: str) -> dict[str, dict[str, Any]]:
    """The simulator's per-request truth (monotonic ns), keyed by x-request-id."""
    with urllib.request.urlopen(base_url + "/sim/requests", timeout=30) as resp:
        rows = json.loads(resp.read())
    return {row["request_id"]: row for row in rows}
