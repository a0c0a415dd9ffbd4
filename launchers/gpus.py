"""GPU sets for parallel jobs on one host: `gpus_per_job=N` gives each job process N GPUs of its
own, exported as CUDA_VISIBLE_DEVICES to the servers it starts.

The allocation holds across processes (joblib workers, submitit jobs) through one lock file per
GPU, `<lock dir>/<host>-gpu<id>.lock`, locked with `flock`: a process keeps its set for its
lifetime (its pool reuses servers on it) and the kernel releases the locks when the process
exits, however it exits. A process takes all N locks or none (no hold-and-wait), and waits,
polling, while every set is taken. The lock dir is the sweep dir's `.gpus/` unless
$SWEEPER_GPU_LOCK_DIR names a host-wide one (sweeps running side by side on one host).

The GPUs to allocate from: `gpu_ids`, else $CUDA_VISIBLE_DEVICES as the sweep was started (an
empty value counts as unset: submitit's local executor blanks it), else `nvidia-smi -L`. Under
SLURM (SLURM_JOB_ID set) the job's CUDA_VISIBLE_DEVICES is SLURM's allocation and is used as is.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from instruments.errors import ConfigError, ServerStartError

log = logging.getLogger(__name__)

LOCK_DIR_ENV = "SWEEPER_GPU_LOCK_DIR"
CVD = "CUDA_VISIBLE_DEVICES"
# CUDA_VISIBLE_DEVICES as this process found it, before any allocation rewrote it
_ORIGINAL_CVD = os.environ.get(CVD)


@dataclass
class GpuSet:
    ids: list[str]
    files: list[IO[bytes]] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for f in self.files:
            f.close()  # closing the file drops its flock
        self.files.clear()


def visible_gpus(gpu_ids: Sequence[str] | None = None) -> list[str]:
    if gpu_ids:
        return [str(g) for g in gpu_ids]
    if _ORIGINAL_CVD:
        return [g.strip() for g in _ORIGINAL_CVD.split(",") if g.strip()]
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def _try_lock(path: Path) -> IO[bytes] | None:
    f = path.open("ab")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def try_acquire(lock_dir: Path, devices: Sequence[str], n: int) -> GpuSet | None:
    """N free GPUs of `devices`, locked; None (holding nothing) when fewer are free."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    got = GpuSet([])
    for dev in devices:
        f = _try_lock(lock_dir / f"{host}-gpu{dev}.lock")
        if f is None:
            continue
        got.ids.append(dev)
        got.files.append(f)
        if len(got.ids) == n:
            return got
    got.release()
    return None


def acquire(
    lock_dir: Path, devices: Sequence[str], n: int, timeout_s: float, poll_s: float = 0.2
) -> GpuSet:
    if n > len(devices):
        raise ConfigError(
            f"gpus_per_job: {n} GPUs per job, but only {len(devices)} visible ({','.join(devices)})"
        )
    deadline = time.monotonic() + timeout_s
    waited = False
    while True:
        got = try_acquire(lock_dir, devices, n)
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"no {n} free GPUs among {','.join(devices)} after {timeout_s:g}s (other jobs "
                f"hold them; keep hydra.launcher.n_jobs x gpus_per_job <= {len(devices)})"
            )
        if not waited:
            log.info("waiting for %d free GPUs among %s", n, ",".join(devices))
            waited = True
        time.sleep(poll_s)


class GpuHolder:
    """The GPUs this process holds: taken by the first job that needs them, kept by later jobs
    (their servers run on the same set), released when the process exits or asks for another
    number. One per process, in the entry point's `Runtime`."""

    def __init__(self) -> None:
        self.held: GpuSet | None = None

    def ensure(
        self, n: int, gpu_ids: Sequence[str] | None, default_lock_dir: Path, timeout_s: float
    ) -> list[str] | None:
        """Give this process N GPUs (once; later jobs keep them) and export
        CUDA_VISIBLE_DEVICES. None when N is 0 (CUDA_VISIBLE_DEVICES left alone)."""
        if n < 0:
            raise ConfigError(f"gpus_per_job: must be >= 0, got {n}")
        if n == 0:
            return None
        if os.environ.get("SLURM_JOB_ID") and os.environ.get(CVD):
            ids = os.environ[CVD].split(",")
            if len(ids) < n:
                raise ConfigError(f"gpus_per_job: {n} GPUs per job, SLURM gave this job {len(ids)}")
            return ids
        if self.held is not None and len(self.held.ids) == n:
            os.environ[CVD] = ",".join(self.held.ids)
            return self.held.ids
        self.release()
        lock_dir = Path(os.environ.get(LOCK_DIR_ENV) or default_lock_dir)
        self.held = acquire(lock_dir, visible_gpus(gpu_ids), n, timeout_s)
        os.environ[CVD] = ",".join(self.held.ids)
        log.info("this process holds GPUs %s", os.environ[CVD])
        return self.held.ids

    def release(self) -> None:
        if self.held is not None:
            self.held.release()
            self.held = None
