"""A sweeper CLI process watched while it runs: output lines with arrival times, signals."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.cli import Sweep
from tests.helpers.processes import Spawned


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `python -m sweeper` run: ours, unbuffered, outside any sweep."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("SWEEPER_SWEEP_RUN_ID", None)
    return full_env


class LiveRun:
    """`python -m sweeper ...` in its own process group; stdout+stderr read line by line."""

    def __init__(self, sweep: Sweep, *overrides: str, env: dict[str, str] | None = None) -> None:
        self.t0 = time.monotonic()
        self.spawned = Spawned(
            sweep.args(*overrides),
            env=cli_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.proc = self.spawned.proc
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.t0, line.rstrip("\n")))

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def first(self, needle: str) -> float | None:
        """Seconds after start at which a line containing `needle` arrived."""
        return next((t for t, line in self.lines if needle in line), None)

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            self.reap()
        return code

    def reap(self) -> None:
        """Stop and reap its process group (see tests.helpers.processes), then the reader."""
        self.spawned.reap()
        self._reader.join(5)

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reap()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def read_result(job_dir: Path) -> dict[str, Any]:
    return json.loads((job_dir / "result.json").read_text())


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


@dataclass
class Done:
    """A finished CLI run started by `run_all`."""

    sweep: Sweep
    returncode: int
    stdout: str
    stderr: str
    wall_s: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_all(
    runs: dict[str, tuple[Sweep, tuple[str, ...]]],
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> dict[str, Done]:
    """Start every `python -m sweeper` run at once (the suite's time goes to waiting: timeouts,
    server starts), then wait for each; all are reaped whatever happens."""
    started: dict[str, tuple[Sweep, Spawned, float]] = {}

    def finish(name: str) -> Done:
        sweep, child, t0 = started[name]
        out, err = child.proc.communicate(timeout=timeout)
        return Done(sweep, child.proc.returncode, out, err, time.monotonic() - t0)

    with ExitStack() as reap_all:
        for name, (sweep, overrides) in runs.items():
            child = Spawned(
                sweep.args(*overrides), env=cli_env(env),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            reap_all.enter_context(child)
            started[name] = (sweep, child, time.monotonic())
        with ThreadPoolExecutor(len(started)) as pool:
            futures = {name: pool.submit(finish, name) for name in started}
            return {name: f.result() for name, f in futures.items()}
