"""The signals that end sweeper — SIGINT (Ctrl-C), SIGTERM, SIGHUP — and a teardown they
cannot cut short.

`install()` makes the first of them raise `Interrupted` (a KeyboardInterrupt, so every layer
that cleans up on Ctrl-C cleans up on all three). Inside `held()` — a few lines that start a
process and register it, which an exception in their middle would leave untracked — it is
raised when the block ends instead. A signal handler runs wherever the main thread is, also in
a `__del__` or a garbage-collector callback, where Python drops any exception ("Exception
ignored in ...") — the interrupt would be lost and sweeper would run on; such an `Interrupted`
is delivered again (`sys.unraisablehook`). From then on, and from `defer()` on (the
entry point calls it before it stops servers at any way out), a further signal only prints
one line and is otherwise ignored: a second Ctrl-C while servers stop, or the SIGHUP of a
closing terminal, must not leave a server running. The waits of that teardown are bounded
(`launchers.pool`); `kill -9` stays available and is safe (`instruments.watchdog`).

Exit codes: 130 SIGINT, 143 SIGTERM, 129 SIGHUP (128 + the signal number, as shells report).
A signal that was ignored when the process started (`nohup` ignores SIGHUP; a background job of
a non-interactive shell ignores SIGINT) stays ignored. After SIGHUP, stdout and stderr that are
a terminal (now hung up: writes would fail with EIO mid-teardown) are pointed at /dev/null.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_stopping = False
_deferred = False
_held = False
_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """One of SIGNALS arrived; `exit_code` is 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def install() -> None:
    """Handle SIGNALS as the module doc says (call once, from the main thread)."""
    global _stopping, _deferred, _pending
    _stopping, _deferred, _pending = False, False, None
    for sig in SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)
    if sys.unraisablehook is not _redeliver:
        global _next_hook
        _next_hook = sys.unraisablehook
        sys.unraisablehook = _redeliver


_next_hook = sys.unraisablehook


def _redeliver(unraisable: UnraisableHookArgs) -> None:
    """An `Interrupted` dropped in a `__del__` or a gc callback: raise it once more at the
    main thread's next step (as if the signal came again)."""
    global _stopping
    exc = unraisable.exc_value
    if isinstance(exc, Interrupted) and not _deferred:
        _stopping = False
        # from another thread, a moment later: here, or at once, it would be dropped again
        timer = threading.Timer(0.05, _thread.interrupt_main, (exc.signum,))
        timer.daemon = True
        timer.start()
        return
    _next_hook(unraisable)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A block the first signal does not cut: it is raised as the block ends (main thread)."""
    global _held, _pending, _stopping
    outer, _held = _held, True
    try:
        yield
    finally:
        _held = outer
        if not outer and _pending is not None:
            signum, _pending = _pending, None
            _stopping = True
            raise Interrupted(signum)


def defer() -> None:
    """From now on SIGNALS are noted, not raised (the teardown runs to its end)."""
    global _stopping, _deferred
    _stopping = _deferred = True


def ignore() -> None:
    """The teardown is done: ignore SIGNALS for the rest of the exit, so that a late one does
    not change the exit code (Python puts its handlers back to the default while it finalizes,
    and a default SIGINT then would end the process by the signal)."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stopping, _pending
    if signum == signal.SIGHUP:
        _quiet_terminal()
    name = signal.Signals(signum).name
    if _stopping:
        # os.write, not print: the handler may run in the middle of a print to stderr
        with contextlib.suppress(OSError):
            os.write(
                2,
                f"[sweeper] {name}: still stopping servers, a few seconds more (kill -9 "
                "is safe: the watchdog stops what is left)\n".encode(),
            )
        return
    if _held:
        _pending = signum if _pending is None else _pending
        return
    _stopping = True
    raise Interrupted(signum)


def _quiet_terminal() -> None:
    """Point stdout/stderr at /dev/null where they are a terminal (see module doc)."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                if stat.S_ISCHR(os.fstat(fd).st_mode) and fd != devnull:
                    os.dup2(devnull, fd)
        os.close(devnull)
