"""Run a `LaunchPlan` as a server process: own process group, log file, readiness, clean stop.

Every server is started in a new session (its own process group) so that stopping it can signal
the whole group, with PR_SET_PDEATHSIG (SIGTERM when we die: it reaches the server only, the
kernel clears it on fork), and with the watchdog's marker in its environment, which all its
descendants inherit: `instruments.watchdog` kills the whole tree when sweeper ends in any way,
SIGKILL included. Readiness is polled synchronously (no benchmark is running yet); stop is
SIGTERM to the server's pid, a wait, then SIGKILL to whatever is left of its group and of the
processes carrying its marker (a descendant that called setsid left the group). Stopping twice
is harmless. Calls to the server ignore proxy settings (`instruments.http`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from instruments import watchdog
from instruments.errors import ServerStartError
from instruments.http import direct
from instruments.redact import redact_argv
from launchers.cpus import format_cpus
from launchers.kinds.base import LaunchPlan

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
# health polls while a server starts: the first after 20 ms, each pause 1.5 times the last, up to
# 0.2 s (a refused connection costs a fraction of a millisecond)
READY_POLL_FIRST_S = 0.02
READY_POLL_MAX_S = 0.2
# tags the marker of each server this process starts
_server_numbers = itertools.count()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _child_setup(cpus: set[int] | None, parent: int) -> Callable[[], None]:
    """What runs in the child between fork and exec: SIGTERM when the parent thread dies, and
    run on `cpus` (server.cpus, already checked) when given; its own children inherit `cpus`."""

    def setup() -> None:
        watchdog.die_with_parent(signal.SIGTERM, parent)
        if cpus:
            os.sched_setaffinity(0, cpus)

    return setup


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET returning (status, body); status 0 when nothing answered."""
    try:
        with direct.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, b""


def lists_model(body: bytes, name: str) -> bool:
    try:
        data = json.loads(body)
        return any(m.get("id") == name for m in data.get("data", []))
    except (ValueError, AttributeError, TypeError):
        return False


def wait_until_ready(
    plan: LaunchPlan,
    timeout_s: float,
    exited: Callable[[], int | None] = lambda: None,
    describe_failure: Callable[[str], str] = lambda msg: msg,
) -> None:
    """Poll `/health` (and `/v1/models` when the plan names a served model) until both answer.

    `exited` returns the exit code once the server process is gone (fail fast);
    `describe_failure` decorates the error message (e.g. with the log tail).
    """
    deadline = time.monotonic() + timeout_s
    health = plan.base_url.rstrip("/") + plan.health_path
    last = "no answer"
    pause = READY_POLL_FIRST_S
    while True:
        code = exited()
        if code is not None:
            raise ServerStartError(describe_failure(f"server exited with code {code} before ready"))
        status, _ = http_get(health)
        if status == 200:
            if plan.served_model is None:
                return
            m_status, body = http_get(plan.base_url.rstrip("/") + "/v1/models")
            if m_status == 200 and lists_model(body, plan.served_model):
                return
            last = f"/v1/models does not list {plan.served_model!r} yet"
        else:
            last = f"{health} answered {status or 'nothing'}"
        if time.monotonic() > deadline:
            raise ServerStartError(
                describe_failure(f"server not ready after {timeout_s:g}s ({last})")
            )
        time.sleep(pause)
        # often at first (a simulator is up in a quarter second), every 0.2 s after 1 s
        pause = min(pause * 1.5, READY_POLL_MAX_S)


class ServerProcess:
    """One started server process (see module doc)."""

    def __init__(self, plan: LaunchPlan, log_path: Path, stop_timeout_s: float = 15.0) -> None:
        self.plan = plan
        self.log_path = log_path
        self.stop_timeout_s = stop_timeout_s
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = log_path.open("ab")
        env = {**os.environ, **plan.env}
        self._guard = watchdog.guard()
        self.marker = self._guard.open(f"server-{next(_server_numbers)}", env)
        env[watchdog.MARK_ENV] = self.marker
        log.info("starting server: %s", " ".join(redact_argv(plan.argv)))
        if plan.cpus:
            log.info("server CPUs: %s", format_cpus(plan.cpus))
        try:
            self.proc = subprocess.Popen(
                plan.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_child_setup(plan.cpus, os.getpid()),  # started from one thread
            )
        except OSError as e:
            self._log_file.close()
            self._guard.close()
            raise ServerStartError(f"cannot run {plan.argv[0]!r}: {e.strerror or e}") from e
        except subprocess.SubprocessError as e:  # only the child's affinity can fail in there
            self._log_file.close()
            self._guard.close()
            cpus = format_cpus(plan.cpus or set())
            raise ServerStartError(f"server.cpus: cannot run on CPUs {cpus} here ({e})") from e
        self.pid = self.proc.pid
        self._guard.watch(self.pid)
        self._stopped = False

    @property
    def base_url(self) -> str:
        return self.plan.base_url

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout_s: float, meanwhile: Callable[[], None] | None = None) -> None:
        """Wait for the health check to pass (`meanwhile` first, while the server starts); a
        server that does not get there is stopped."""

        def describe(msg: str) -> str:
            tail = log_tail(self.log_path)
            return f"{msg}; last lines of {self.log_path}:\n{tail}" if tail else msg

        try:
            if meanwhile is not None:
                meanwhile()
            wait_until_ready(self.plan, timeout_s, self.proc.poll, describe)
        except BaseException:
            self.stop()
            raise

    def reset_prefix_cache(self) -> bool:
        req = urllib.request.Request(
            self.base_url.rstrip("/") + "/reset_prefix_cache", method="POST"
        )
        try:
            with direct.open(req, timeout=10) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            return False

    def members(self) -> set[int]:
        """The live processes of this server: its group, its marker, their descendants."""
        return watchdog.find(self.marker, {self.pid})

    def stop(self) -> int | None:
        """SIGTERM the server, wait, SIGKILL its process group and whatever else carries its
        marker; returns the exit code. A second call finds nothing left and returns at once."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning("server %d ignored SIGTERM; killing its group", self.pid)
            # whatever the server left in its group (workers, engine cores) goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            # descendants that left the group (setsid) still carry the marker
            if left := watchdog.kill_tree(self.marker, {self.pid}, grace_s=0):
                log.info("server %d: killed %d more process(es) it had left", self.pid, len(left))
            wait_group_gone(self.pid)
            if not self._stopped:
                self._stopped = True
                self._guard.close(self.pid)
            return self.proc.returncode
        finally:
            self._log_file.close()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def wait_group_gone(pgid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_members(pgid):
        if time.monotonic() > deadline:
            log.warning("process group %d still has members after SIGKILL", pgid)
            return False
        time.sleep(0.05)
    return True
