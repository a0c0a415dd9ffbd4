"""Run `python -m sweeper` as a user would, into a temp dir with a temp MLflow store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.helpers.processes import run_captured


@dataclass
class Sweep:
    root: Path

    @property
    def sweep_dir(self) -> Path:
        return self.root / "sweep"

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.root}/mlflow.db"

    def args(self, *overrides: str) -> list[str]:
        return [
            sys.executable, "-m", "sweeper", *overrides,
            f"hydra.sweep.dir={self.sweep_dir}",
            f"hydra.run.dir={self.root / 'run'}",
            f"tracking.uri={self.uri}",
            "load.progress=false",
        ]  # fmt: skip

    def run(self, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SWEEPER_SWEEP_RUN_ID", None)
        return run_captured(self.args(*overrides), env=env, timeout=timeout)

    def results(self) -> list[dict]:
        dirs = sorted(
            (p for p in self.sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        return [json.loads((d / "result.json").read_text()) for d in dirs]


def sim_processes(marker: str) -> list[psutil.Process]:
    """Simulator processes whose command line mentions `marker` (e.g. a temp dir)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "launchers.sim" in cmd and marker in cmd:
            found.append(p)
    return found
