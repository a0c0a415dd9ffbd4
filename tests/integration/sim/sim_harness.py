"""Start the simulator as a real process (own process group), always reaped."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimProcess:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stop(self, timeout: float = 5.0) -> float:
        """SIGTERM; returns the seconds it took to exit (SIGKILL of the group after timeout)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return time.monotonic() - t0


@contextmanager
def run_sim(tmp_path: Path, *args: str, wait_ready: bool = True) -> Iterator[SimProcess]:
    port = free_port()
    log = tmp_path / f"sim-{port}.log"
    argv = [sys.executable, "-m", "launchers.sim", "--port", str(port), *args]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=fh, stderr=fh, start_new_session=True)
    sim = SimProcess(proc, port, log)
    try:
        if wait_ready:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"simulator exited: {log.read_text()[-2000:]}")
                try:
                    if sim.get("/health")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"simulator not ready: {log.read_text()[-2000:]}")
                time.sleep(0.05)
        yield sim
    finally:
        sim.stop()
        # nothing of the group may be left behind
        try:
            os.killpg(proc.pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        if alive:
            os.killpg(proc.pid, signal.SIGKILL)
        assert not alive, "simulator process group outlived its stop"
