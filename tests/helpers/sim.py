"""The simulator (`python -m launchers.sim`) as a real process for a test or a benchmark: a free
port, its own process group, a log file, ready on /health, always stopped and reaped.

    with running_sim("--profile", "fast", log_dir=tmp_path) as sim:
        status, body = sim.get("/v1/models")
        requests_to(sim.base)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from launchers.process import free_port
from tests.helpers.processes import Spawned


class SimProcess:
    """A started simulator: its address, its log, and the process (`spawned.proc`)."""

    def __init__(self, spawned: Spawned, port: int, log: Path) -> None:
        self.spawned = spawned
        self.proc = spawned.proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`: (status, body), HTTP errors included; OSError when nothing listens."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulator not ready after {timeout_s:g}s: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> float:
        """SIGTERM (SIGKILL of the group after the grace period); the seconds it took to exit."""
        return self.spawned.reap()


def sim_argv(port: int, *args: str) -> list[str]:
    argv = [sys.executable, "-m", "launchers.sim", "--port", str(port), *args]
    # SIM_BENCH_NICE=-10 runs the simulator at a higher CPU priority, to tell its own lateness
    # from a busy machine's (a negative value needs the privilege to raise priority)
    nice = os.environ.get("SIM_BENCH_NICE")
    return ["nice", "-n", nice, *argv] if nice else argv


@contextmanager
def running_sim(
    *args: str,
    log_dir: Path | None = None,
    wait_ready: bool = True,
    ready_timeout_s: float = 30.0,
) -> Iterator[SimProcess]:
    """Start the simulator with `args`; its log goes to `log_dir` (a temp dir, removed at exit,
    when None). With `wait_ready`, yields once /health answers 200."""
    with ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sim-")))
        port = free_port()
        log = log_dir / f"sim-{port}.log"
        spawned = stack.enter_context(Spawned(sim_argv(port, *args), log=log, grace_s=10))
        sim = SimProcess(spawned, port, log)
        if wait_ready:
            sim.wait_ready(ready_timeout_s)
        yield sim


def ground_truth(base_url: str) -> dict[str, dict[str, Any]]:
    """The simulator's per-request truth (monotonic ns), keyed by x-request-id."""
    with urllib.request.urlopen(base_url + "/sim/requests", timeout=30) as resp:
        rows = json.loads(resp.read())
    return {row["request_id"]: row for row in rows}
