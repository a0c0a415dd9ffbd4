"""The state a sweeper process carries from job to job, in one object built at the entry point
and handed down: the server pool (a server reused by consecutive jobs), the sweep's MLflow
parent run with its job counts, and the GPUs this process holds.

`cli.main` makes it; Hydra builds the callbacks and sweeper plugins itself, so they (and jobs
that run in a launcher's worker process, where no `main` ran) reach the same object through
`process_runtime()`. Everything below the entry point takes it as an argument, so a test can
hand a job a fake pool.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from launchers.config import ModelConfig, ServerConfig
from launchers.gpus import GpuHolder
from launchers.pool import Lease, ServerPool
from sweeper.tracking import sidecar
from sweeper.tracking.sweep_run import SweepRun


class Pool(Protocol):
    """What a job asks of the server pool (`launchers.pool.ServerPool`; a fake in tests)."""

    def acquire(
        self, model: ModelConfig, server: ServerConfig, log_dir: Path,
        while_starting: Callable[[], None] | None = None,
    ) -> Lease: ...  # fmt: skip

    def server_alive(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class Runtime:
    pool: Pool = field(default_factory=ServerPool)
    sweep: SweepRun = field(default_factory=SweepRun)
    gpus: GpuHolder = field(default_factory=GpuHolder)

    def close(self, status: str | None = None) -> None:
        """Stop the servers, then end the sweep run (FINISHED/FAILED, or `status`); both are
        idempotent, so the interpreter-exit close after this one finds nothing to do."""
        try:
            self.pool.close()
        finally:
            try:
                self.sweep.close(status)
            finally:
                sidecar.stop()


_process: Runtime | None = None


def process_runtime() -> Runtime:
    """This process's runtime, made on first use; its servers are stopped at interpreter exit
    whatever happens."""
    global _process
    if _process is None:
        _process = Runtime()
        atexit.register(_process.pool.close)
    return _process


def new_process_runtime() -> Runtime:
    """A fresh runtime for a new multirun in the same process (tests run several)."""
    global _process
    if _process is not None:
        _process.pool.close()
    _process = None
    return process_runtime()
