"""The server pool: one server at a time, reused by consecutive jobs with the same fingerprint.

`acquire` returns a `Lease` for the job: a fresh server when the fingerprint changed (the previous
one is stopped first), the running one otherwise (its prefix cache reset) — once it has answered
its health path within `HEALTH_TIMEOUT_S`; a server that died or hangs since the last job is
stopped and replaced, with one warning. `close` stops whatever runs; the entry point's `Runtime`
calls it at every way out (end, error, Ctrl-C, SIGTERM, SIGHUP, interpreter exit). `close`
forgets a server only once it is stopped, so a close cut short is finished by the next one; its
waits are bounded (the server's `stop_timeout_s` + ~10 s). On a GPU machine the wait for the
stopped server's GPU memory to be released (up to 120 s) happens before the next server starts,
not in `close`: at the end of a sweep nobody waits for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from instruments import gpu
from launchers.config import ModelConfig, ServerConfig
from launchers.cpus import check_cpus
from launchers.kinds import server_kind
from launchers.process import ServerProcess, free_port, http_get

log = logging.getLogger(__name__)

# an idle server between jobs answers its health path in milliseconds; one that has not in this
# long is hung (a job against it would wait load.request_timeout_s on every request)
HEALTH_TIMEOUT_S = 5.0
GPU_RELEASE_TIMEOUT_S = 120.0

# fields that change how we wait for or talk to a server, not what the server is
_NOT_IDENTITY = {"ready_timeout_s", "stop_timeout_s", "reset_prefix_cache", "metrics_interval_s"}


def fingerprint(model: ModelConfig, server: ServerConfig) -> str:
    """A stable hash of everything that changes what the server is."""
    kind = server_kind(server.kind)
    skip = _NOT_IDENTITY - kind.launch_fields
    ident: dict[str, object] = {
        "model": asdict(model),
        "server": {k: v for k, v in asdict(server).items() if k not in skip},
    }
    executable = kind.executable(server)
    if executable:
        ident["executable"] = shutil.which(executable) or executable
    blob = json.dumps(ident, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class Lease:
    """What a job gets from the pool."""

    base_url: str
    fingerprint: str
    reused: bool
    pid: int | None = None
    simulated: bool = False
    log_path: Path | None = None
    # where this job's part of the server log starts
    log_offset: int = 0


@dataclass
class _Running:
    fingerprint: str
    base_url: str
    process: ServerProcess | None
    simulated: bool
    reset_prefix_cache: bool
    health_path: str = "/health"

    def alive(self) -> bool:
        return self.process is None or self.process.alive()

    def unhealthy(self) -> str | None:
        """Why this server cannot take the next job (its process exited, its health path did
        not answer 200 in time); None when it can."""
        if not self.alive():
            return "died since the last job"
        url = self.base_url.rstrip("/") + self.health_path
        status, _ = http_get(url, timeout=HEALTH_TIMEOUT_S)
        if status == 200:
            return None
        answer = f"answered {status}" if status else f"no answer in {HEALTH_TIMEOUT_S:g} s"
        return f"is not healthy since the last job (GET {self.health_path}: {answer})"


class ServerPool:
    def __init__(self) -> None:
        self._running: _Running | None = None
        self.starts = 0
        # processes of the last stopped server whose GPU memory the next server waits for
        self._releasing: set[int] = set()

    def acquire(
        self, model: ModelConfig, server: ServerConfig, log_dir: Path,
        while_starting: Callable[[], None] | None = None,
    ) -> Lease:  # fmt: skip
        """The running server when it fits, else a new one; `while_starting` runs once a new
        server's process is started, before its health is awaited (work that overlaps it)."""
        fp = fingerprint(model, server)
        run = self._running
        if run is not None and run.fingerprint == fp:
            problem = run.unhealthy()
            if problem is None:
                if run.reset_prefix_cache and run.process is not None:
                    run.process.reset_prefix_cache()
                return self._lease(run, reused=True)
            log.warning("server %s %s; starting a new one", run.base_url, problem)
        self.close()
        self._running = self._start(model, server, fp, log_dir, while_starting)
        return self._lease(self._running, reused=False)

    def _lease(self, run: _Running, reused: bool) -> Lease:
        proc = run.process
        offset = 0
        if proc is not None and reused:
            try:
                offset = proc.log_path.stat().st_size
            except OSError:
                offset = 0
        return Lease(
            base_url=run.base_url,
            fingerprint=run.fingerprint,
            reused=reused,
            pid=proc.pid if proc else None,
            simulated=run.simulated,
            log_path=proc.log_path if proc else None,
            log_offset=offset,
        )

    def _start(
        self, model: ModelConfig, server: ServerConfig, fp: str, log_dir: Path,
        while_starting: Callable[[], None] | None,
    ) -> _Running:  # fmt: skip
        kind = server_kind(server.kind)
        kind.check(model, server)
        attached = kind.attach(server)
        if attached is not None:
            return _Running(
                fp, attached, None, kind.simulated, server.reset_prefix_cache, server.health_path
            )
        port = server.port or free_port(server.host)
        workdir = log_dir / f"server-{fp[:8]}-{self.starts}"
        workdir.mkdir(parents=True, exist_ok=True)
        plan = kind.plan(model, server, port, workdir)
        plan.cpus = None if server.cpus is None else check_cpus(server.cpus)
        self._wait_gpu_released()
        proc = ServerProcess(plan, workdir / "server.log", server.stop_timeout_s)
        self.starts += 1
        proc.wait_ready(server.ready_timeout_s, while_starting)
        log.info("server ready at %s (pid %d)", plan.base_url, proc.pid)
        return _Running(
            fp, plan.base_url, proc, kind.simulated, server.reset_prefix_cache, plan.health_path
        )

    def server_alive(self) -> bool:
        return self._running is not None and self._running.alive()

    def close(self) -> None:
        """Stop the running server (idempotent; see module doc)."""
        run = self._running
        if run is not None and run.process is not None:
            if gpu.gpus():
                self._releasing |= run.process.members()
            code = run.process.stop()
            log.info("server %d stopped (exit code %s)", run.process.pid, code)
        self._running = None

    def _wait_gpu_released(self) -> None:
        """On a GPU machine a server starts only once the last one's GPU memory is free."""
        members, self._releasing = self._releasing, set()
        if members and not gpu.wait_released(members, timeout_s=GPU_RELEASE_TIMEOUT_S):
            log.warning(
                "GPU memory of the last server not released after %g s", GPU_RELEASE_TIMEOUT_S
            )
