"""Processes of the bench: pinned to a CPU with `taskset`, in their own process group, their CPU
time sampled while they run and read from `wait4`'s rusage when they end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from instruments.http import direct

_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    """`argv` run on one CPU (taskset) where there is more than one CPU to choose from."""
    if cpu is None or (os.cpu_count() or 1) < 2:
        return list(argv)
    return ["taskset", "-c", str(cpu), *argv]


def cpu_ns_of(pid: int) -> int | None:
    """User + system CPU of process `pid` so far (its threads included; tick resolution)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * _TICK_NS


@dataclass
class Finished:
    """A finished child: its exit code, output, CPU samples while it ran and its total CPU."""

    returncode: int
    output: str
    # (monotonic ns, CPU ns so far), every `period` while it ran
    samples: list[tuple[int, int]]
    cpu_ns: int
    wall_s: float
    end_ns: int = 0

    def cpu_between(self, start_ns: int, end_ns: int | None = None) -> int:
        """CPU ns spent from `start_ns` to `end_ns` (to its exit when None), from the samples."""
        if end_ns is None:
            return self.cpu_ns - cpu_at(self.samples, start_ns)
        return cpu_between(self.samples, start_ns, end_ns)


def cpu_at(samples: list[tuple[int, int]], t_ns: int) -> int:
    """CPU ns so far at `t_ns`: the last sample taken by then (0 before the first)."""
    before = [c for t, c in samples if t <= t_ns]
    return before[-1] if before else 0


def cpu_between(samples: list[tuple[int, int]], start_ns: int, end_ns: int) -> int:
    return cpu_at(samples, end_ns) - cpu_at(samples, start_ns)


@contextlib.contextmanager
def cpu_samples(pid: int, period_s: float = 0.005) -> Iterator[list[tuple[int, int]]]:
    """(monotonic ns, CPU ns so far) of process `pid`, every `period_s` while the block runs
    (a thread of the bench: the sampled process is not disturbed)."""
    samples: list[tuple[int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(period_s):
            cpu = cpu_ns_of(pid)
            if cpu is not None:
                samples.append((time.monotonic_ns(), cpu))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join()


@dataclass
class Child:
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    period_s: float = 0.005

    def run(self, timeout_s: float) -> Finished:
        """Run to its end (killed with its group after `timeout_s`)."""
        t0 = time.monotonic()
        out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"sweeper-bench-{os.getpid()}.out"
        with open(out_path, "w+b") as out:
            proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            try:
                with cpu_samples(proc.pid, self.period_s) as samples:
                    _, status, usage = _wait4(proc.pid, timeout_s)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
            end_ns = time.monotonic_ns()
            out.seek(0)
            output = out.read().decode(errors="replace")
        out_path.unlink(missing_ok=True)
        cpu = int((usage.ru_utime + usage.ru_stime) * 1e9)
        code = os.waitstatus_to_exitcode(status)
        return Finished(code, output, samples, cpu, time.monotonic() - t0, end_ns)


def _wait4(pid: int, timeout_s: float) -> tuple[int, int, os.struct_rusage]:  # type: ignore[name-defined]
    deadline = time.monotonic() + timeout_s
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            return got, status, usage
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            return os.wait4(pid, 0)
        time.sleep(0.02)


@contextlib.contextmanager
def background(argv: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own group until the block ends (SIGTERM, then SIGKILL), once it answers."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(ready_url, proc, 120)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before answering")
        try:
            with direct.open(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g} s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
