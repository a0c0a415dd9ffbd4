"""The watchdog: every process sweeper starts dies with it, however sweeper ends (SIGKILL too).

How: while a sweeper process has servers or client workers running, it also runs one small
watchdog process (this file run as a script: stdlib only, in a session of its own, deaf to
SIGINT/SIGTERM/SIGHUP) that holds the read end of a pipe whose only writer is sweeper. Sweeper
tells it which process groups it started (`watch`/`forget`), and every server it starts carries
a marker in its environment (`SWEEPER_WATCHDOG=<token>/<tag>`), which the server's descendants
inherit. When the pipe reads EOF (sweeper is gone: ended, crashed, SIGKILLed) the watchdog finds
every live process that carries the token, or belongs to a watched group, and every descendant
of those; sends them SIGTERM, gives them `GRACE_S`, SIGKILLs what is left (rescanning, so a
process forked meanwhile goes too), says what it killed on stderr, and exits.

Why this and not:
- `PR_SET_PDEATHSIG` alone: the kernel clears it on fork, so it reaches the direct child only
  (not vLLM's EngineCore, nor the server behind a wrapper script); a server that ignores SIGTERM
  ignores it too. Sweeper still sets it, as the first line of defence.
- a process-group kill alone: a descendant that calls setsid (a wrapper may) leaves the group.
  The environment marker survives setsid and re-parenting; the group and descendant walk cover a
  descendant that scrubbed its environment while its parent or group still stands.
- `PR_SET_CHILD_SUBREAPER` on sweeper: it keeps the tree findable only while sweeper lives (when
  sweeper dies the orphans move on to init, exactly when they must be found), and makes sweeper
  reap strangers' zombies, which races with subprocess/multiprocessing over exit codes.
- cgroups: killing a cgroup is the cleanest, but creating one needs root or cgroup v2 delegation
  (systemd user scopes), which containers and most shared hosts do not give.
The watchdog needs neither root nor cgroups: /proc of one's own processes is readable.
Limits: a process that scrubs its environment *and* leaves both the group and the tree of a
live parent (a full daemon double-fork with `env -i`) is not found; nor are processes another
daemon starts for us (`docker run`'s containers).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

log = logging.getLogger(__name__)

MARK_ENV = "SWEEPER_WATCHDOG"
GRACE_S = 2.0
KILL_WAIT_S = 5.0
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> None:
    """Ask the kernel to send `sig` to this process when its parent thread dies; exit at once
    when `parent` (the expected parent pid) is already gone (the race before the prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
    if parent is not None and os.getppid() != parent:
        os._exit(1)


# --- finding processes in /proc (used by the watchdog and by a server's stop) ---------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) of a live, non-zombie process; None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), int(fields[2])


def _marked(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read()
    except OSError:
        return False  # gone, or not ours
    prefix = MARK_ENV.encode() + b"="
    for var in env.split(b"\0"):
        if var.startswith(prefix):
            # a prefix ending in "/" matches every tree of one sweeper, else one tree exactly
            marks = var[len(prefix) :].split(b",")
            return any(m == needle or (needle[-1:] == b"/" and m.startswith(needle)) for m in marks)
    return False


def find(needle: str, groups: AbstractSet[int] = frozenset()) -> set[int]:
    """Live processes whose marker contains `needle`, or that lead or belong to one of
    `groups`, and every descendant of those (this process excluded)."""
    me = os.getpid()
    stats: dict[int, tuple[int, int]] = {}
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        st = _stat(pid)
        if st is None:
            continue
        stats[pid] = st
        if st[1] in groups or (needle and _marked(pid, needle.encode())):
            found.add(pid)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal_all(pids: set[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_tree(
    needle: str, groups: AbstractSet[int] = frozenset(), grace_s: float = GRACE_S
) -> set[int]:
    """SIGTERM what `find` finds, `grace_s` for it to go, then SIGKILL until nothing is found
    (at most KILL_WAIT_S more). Returns every pid it signalled."""
    hit: set[int] = set()
    deadline = time.monotonic() + grace_s
    while (pids := find(needle, groups)) and time.monotonic() < deadline:
        _signal_all(pids - hit, signal.SIGTERM)
        hit |= pids
        time.sleep(0.05)
    deadline = time.monotonic() + KILL_WAIT_S
    while (pids := find(needle, groups)) and time.monotonic() < deadline:
        _signal_all(pids, signal.SIGKILL)
        hit |= pids
        time.sleep(0.05)
    return hit


# --- sweeper's side -------------------------------------------------------------------------


class Watchdog:
    """This process's watchdog (see module doc); `guard()` returns the one of this process.

    The watchdog process runs while something it guards runs: `open` (before a server or a
    worker starts) starts one when none runs, the `close` of the last open tree ends it (it
    scans once more and exits), so an idle sweeper, or a test process, has no watchdog child.
    Each watchdog process gets a new token: one still finishing its last scan never matches
    the marker of a server started after it.
    """

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.token = ""
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._open_trees = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def open(self, tag: str, env: Mapping[str, str]) -> str:
        """Count one more guarded tree and return its marker, kept with any marker `env`
        already has (a sweeper started by another sweeper is found by both)."""
        with self._lock:
            if self._open_trees == 0:
                self._start()
            self._open_trees += 1
            mine = f"{self.token}/{tag}"
        outer = env.get(MARK_ENV)
        return f"{outer},{mine}" if outer else mine

    def watch(self, pgid: int) -> None:
        """Kill process group `pgid` too, should this process die."""
        with self._lock:
            self._send(f"+{pgid}\n")

    def close(self, pgid: int | None = None) -> None:
        """One guarded tree is gone (and group `pgid` with it)."""
        with self._lock:
            if pgid is not None:
                self._send(f"-{pgid}\n")
            self._open_trees = max(0, self._open_trees - 1)
            if self._open_trees == 0 and self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _start(self) -> None:
        self.token = f"{self.owner}-{secrets.token_hex(4)}"
        try:
            read_end, self._fd = os.pipe()
            argv = [sys.executable, os.path.abspath(__file__), self.token, str(self.owner)]
            self.proc = subprocess.Popen(
                # -I: stdlib only, neither this folder nor the user's paths on sys.path
                [argv[0], "-I", *argv[1:]],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a kill of sweeper's process group spares it
            )
            os.close(read_end)
        except OSError as e:
            log.warning("no watchdog (%s): a SIGKILLed sweeper may leave processes behind", e)
            return
        # reaped when it exits, without making anyone wait for its last scan
        threading.Thread(target=self.proc.wait, name="watchdog-reaper", daemon=True).start()

    def _send(self, line: str) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, line.encode())
        except OSError as e:  # the watchdog is gone: carry on without it
            log.warning("watchdog gone (%s)", e)
            os.close(self._fd)
            self._fd = None


_guard: Watchdog | None = None
_guard_lock = threading.Lock()


def guard() -> Watchdog:
    """The watchdog of this process (a forked child gets its own)."""
    global _guard
    with _guard_lock:
        if _guard is None or _guard.owner != os.getpid():
            _guard = Watchdog()
        return _guard


# --- the watchdog process -------------------------------------------------------------------


def _serve(token: str, owner: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    pending = b""
    while chunk := os.read(0, 4096):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            elif line[:1] == b"-":
                groups.discard(int(line[1:]))
    killed = kill_tree(token + "/", groups)
    if killed:
        with contextlib.suppress(OSError):
            sys.stderr.write(
                f"[sweeper] watchdog: sweeper (pid {owner}) is gone; stopped {len(killed)} "
                f"process(es) it had started: {sorted(killed)}\n"
            )


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
