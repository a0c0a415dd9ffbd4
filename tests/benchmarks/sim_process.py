"""Start the simulator (`python -m launchers.sim`) for a test or benchmark with sweeper's own
process machinery: own process group, free port, ready on /health, always stopped and reaped."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from launchers.kinds import LaunchPlan
from launchers.process import ServerProcess, free_port


@contextmanager
def running_sim(*args: str, ready_timeout_s: float = 30.0) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "launchers.sim", "--port", str(port), "--log-level", "WARNING"]
    # SIM_BENCH_NICE=-10 runs the simulator at a higher CPU priority, to tell its own lateness
    # from a busy machine's (a negative value needs the privilege to raise priority)
    nice = os.environ.get("SIM_BENCH_NICE")
    if nice:
        argv = ["nice", "-n", nice, *argv]
    plan = LaunchPlan(argv=[*argv, *args], base_url=f"http://127.0.0.1:{port}")
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp:
        server = ServerProcess(plan, Path(tmp) / "sim.log", stop_timeout_s=10)
        try:
            server.wait_ready(ready_timeout_s)
            yield plan.base_url
        finally:
            server.stop()


def ground_truth(base_url: str) -> dict[str, dict[str, Any]]:
    """The simulator's per-request truth (monotonic ns), keyed by x-request-id."""
    with urllib.request.urlopen(base_url + "/sim/requests", timeout=30) as resp:
        rows = json.loads(resp.read())
    return {row["request_id"]: row for row in rows}
