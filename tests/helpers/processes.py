"""Every process a test starts: its own process group, output where the test wants it, and the
whole group always reaped (SIGTERM, a grace period, SIGKILL), then checked to be gone.

    with Spawned([sys.executable, "-m", "sweeper", ...], stdout=PIPE, stderr=STDOUT) as child:
        child.proc.send_signal(signal.SIGINT)
        out, _ = child.proc.communicate(timeout=30)

A child gets the default dispositions of SIGINT, SIGTERM and SIGHUP back before exec: a shell
starts a background job with SIGINT ignored, `nohup` starts its command with SIGHUP ignored, an
ignored signal stays ignored across exec, and Python (and sweeper's `instruments.interrupts`,
which keeps a signal its caller chose to ignore ignored) handles only the signals not ignored at
start-up. Without this, a test run from such a shell sends a signal to a `python -m sweeper`
that never sees it. The child runs in a new session, so no terminal's Ctrl-C or hang-up reaches
it: its signals come from the test alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

REPO = Path(__file__).resolve().parents[2]

# what subprocess.Popen takes for stdout / stderr: PIPE, STDOUT, DEVNULL, a file or None
Stream = int | IO[Any] | None


# the signals a test sends sweeper, which its caller's shell may have set to be ignored
DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _default_signals() -> None:
    """Runs in the child between fork and exec (see module doc)."""
    for sig in DEFAULT_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []  # the common case, without scanning every process
    except PermissionError:
        pass  # a member we may not signal still counts
    found = []
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (OSError, psutil.Error):
            continue  # gone while we looked
    return found


def wait_group_gone(pgid: int, timeout_s: float) -> list[psutil.Process]:
    """Polls until group `pgid` has no live member or `timeout_s` passed; returns what is left."""
    deadline = time.monotonic() + timeout_s
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


class Spawned:
    """A child process leading its own process group; leaving the `with` block reaps the group.

    `log`, when given, receives stdout and stderr (the file is closed at reap). `grace_s` is how
    long SIGTERM has before SIGKILL. Output is text.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path = REPO,
        env: Mapping[str, str] | None = None,
        stdout: Stream = None,
        stderr: Stream = None,
        log: Path | None = None,
        grace_s: float = 20.0,
    ) -> None:
        self.argv = list(argv)
        self.log = log
        self.grace_s = grace_s
        self._log_file = log.open("ab") if log is not None else None
        self._reap_lock = threading.Lock()
        self._reaped = False
        try:
            self.proc: subprocess.Popen[str] = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file or stdout,
                stderr=self._log_file or stderr,
                text=True,
                start_new_session=True,
                preexec_fn=_default_signals,
            )
        except BaseException:
            self._close_log()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def reap(self) -> float:
        """Stops the whole group (SIGTERM, `grace_s`, SIGKILL), waits for the child, closes the
        log and asserts nothing of the group is left. Returns the seconds it took; idempotent
        (a second call, from any thread, returns 0)."""
        with self._reap_lock:
            if self._reaped:
                return 0.0
            self._reaped = True
            t0 = time.monotonic()
            try:
                left = self._stop_group()
            finally:
                self._close_log()
            took = time.monotonic() - t0
        assert not left, f"{self.argv[:4]}: group outlived SIGKILL: {[p.pid for p in left]}"
        return took

    def _stop_group(self) -> list[psutil.Process]:
        pgid = self.proc.pid
        if group_members(pgid):
            deadline = time.monotonic() + self.grace_s
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(self.grace_s)
            # the child may be gone while others of its group still handle SIGTERM
            wait_group_gone(pgid, max(0.0, deadline - time.monotonic()))
            if group_members(pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        self.proc.wait()
        return wait_group_gone(pgid, 5.0)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()

    def __enter__(self) -> Spawned:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reap()


def run_captured(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(argv, capture_output=True, text=True, timeout=...)` with the child in its
    own group, reaped whatever happens (TimeoutExpired propagates after the reap)."""
    stderr = subprocess.STDOUT if merge_stderr else subprocess.PIPE
    with Spawned(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr) as child:
        out, err = child.proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(child.argv, child.proc.returncode, out, err)
