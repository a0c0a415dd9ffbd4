"""MLflow in a process of its own, beside the sweep: the tracking helper.

Importing MLflow and opening a SQLite store costs about two seconds of CPU; a job's run (create,
log_batch, artifacts, end) a tenth of a second more. In the sweep's process that is all on the
critical path. Here the helper starts with the sweep (`start`), imports MLflow on the other core
while Hydra composes the grid and the first server starts, and records a job while the next one
prepares or measures. It runs at nice 19, so it never competes with the client or the server for
a CPU: beside a busy process it gets about 1.5 % of a CPU (nice 19's weight, 15, against 1024), and
a waking process takes the CPU from it at once (measured on the 2-CPU VM, a 5 ms sleep-wake loop
sharing its CPU: wake latency p99 67 µs beside a nice-19 busy loop, 138 µs beside an idle CPU,
max 3.9 ms beside a nice-0 one). So the sweep does not wait for it before a benchmark
(`settle()` only takes the answers that have come). Not SCHED_IDLE: an unprivileged process
cannot lift it again, and a helper starved by other users' work on a shared host would hold the
sweep's end; nice 19 always progresses. `quiet()` waits for every answer: the parent run's id,
the sweep's end.

Requests are `(operation, args)` frames (a 4-byte length, then a pickle) on the helper's stdin,
answered in order on its stdout with `("ok", value)` or `("error", one line)`; an error becomes
the same `TrackingError` the in-process `Tracker` raises. The operations are `Tracker`'s methods
and `write_job_run`, run by a real `Tracker` in the helper (`run_operation`). Without a helper
(a launcher's worker process, a library caller) `asker()` is `InProcess`: the same operations and
answers, done at once in this process, so callers have one way to ask.

The helper exits when its stdin closes: at the sweep's end, or when the sweep's process dies
however it dies (the kernel closes the pipe; SIGKILL included) — after finishing what was already
asked, so a measured job is not lost. It ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C reaches the
whole process group, and the sweep still has to close its run KILLED through it.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeper.schema import TrackingConfig
    from sweeper.tracking.mlflow_client import Point, Tracker

# the longest the sweep waits for one answer before it stops the helper: every MLflow call is
# bounded by tracking.timeout_s (HTTP) or the locked-SQLite retries; this only catches a wedge
ANSWER_TIMEOUT_S = 600.0
# the most requests in flight before `submit` waits: a slow store cannot pile up work or fill the
# answers' pipe (an answer is ~100 bytes; the pipe holds 64 KiB)
MAX_PENDING = 32
# the helper's niceness (19, the lowest priority)
NICE = 19
_HEADER = struct.Struct("!I")
READY = "ready"

Done = Callable[[Any], None]
Failed = Callable[[str], None]


class HelperGone(Exception):
    """The helper exited or stopped answering."""


class Sidecar:
    """The sweep's end of the helper: asks, and takes the answers in order."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self._out, self._in = proc.stdin.fileno(), proc.stdout.fileno()
        self._buf = b""
        # what was asked and not yet answered: (on success, on failure); the first entry is
        # the helper's own "imports done"
        self._pending: deque[tuple[Done | None, Failed | None]] = deque([(None, None)])
        self.gone: str | None = None
        self.asked = 0

    def submit(self, op: str, *args: Any, done: Done | None = None,
               failed: Failed | None = None) -> None:  # fmt: skip
        """Ask without waiting; `done(value)` or `failed(message)` runs when the answer is
        taken (by a later `call`, `quiet` or `close`)."""
        if self.gone is not None:
            if failed is not None:
                failed(self.gone)
            return
        if len(self._pending) >= MAX_PENDING:
            self.quiet()
        frame = pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            os.write(self._out, _HEADER.pack(len(frame)))
            _write_all(self._out, frame)
        except OSError as e:
            self.kill(f"MLflow helper (pid {self.proc.pid}) gone: {e.strerror or e}")
            if failed is not None:
                failed(self.gone or "")
            return
        self._pending.append((done, failed))
        self.asked += 1

    def call(self, op: str, *args: Any) -> Any:
        """Ask and wait for the answer; raises TrackingError with the helper's message."""
        from sweeper.tracking.mlflow_client import TrackingError

        answer: list[Any] = []
        problem: list[str] = []
        self.submit(op, *args, done=answer.append, failed=problem.append)
        self.quiet()
        if problem or not answer:
            raise TrackingError(problem[0] if problem else f"{op}: no answer")
        return answer[0]

    def quiet(self) -> None:
        """Wait until everything asked is answered (the helper then idles)."""
        while self._pending:
            self._take(self._next_answer())

    def settle(self) -> None:
        """Take the answers that have come, without waiting for the rest."""
        while self._pending and self.gone is None and self._has_answer():
            self._take(self._next_answer())

    def _has_answer(self) -> bool:
        """A whole answer is buffered, or can be read now (more bytes, or the helper's exit)."""
        while True:
            size = len(self._buf)
            if size >= _HEADER.size and size >= _HEADER.size + _HEADER.unpack_from(self._buf)[0]:
                return True
            if not select.select([self._in], [], [], 0)[0]:
                return False
            chunk = os.read(self._in, 1 << 16)
            if not chunk:  # gone: `_next_answer` says how
                return True
            self._buf += chunk

    def _take(self, answer: tuple[str, Any]) -> None:
        _hand(answer, *self._pending.popleft())

    def _next_answer(self) -> tuple[str, Any]:
        if self.gone is not None:
            return "error", self.gone
        try:
            head = self._read(_HEADER.size)
            return pickle.loads(self._read(_HEADER.unpack(head)[0]))
        except HelperGone as e:
            self.kill(str(e))
            return "error", self.gone

    def _read(self, n: int) -> bytes:
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise HelperGone(f"MLflow helper (pid {self.proc.pid}) did not answer in "
                                 f"{ANSWER_TIMEOUT_S:.0f} s; stopped it")  # fmt: skip
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                code = self.proc.wait()
                raise HelperGone(f"MLflow helper (pid {self.proc.pid}) exited ({code})")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def kill(self, why: str) -> None:
        """No more asking: what is pending or asked later fails with `why`."""
        self.gone = self.gone or why
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        """Take the last answers, then let the helper exit (its stdin closes). Asked nothing
        (a config error, a sweep of failed jobs), it goes at once, its imports not waited for."""
        if not self.asked:
            self.kill("not needed")
        try:
            self.quiet()
        finally:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill("stopped")
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_current: Sidecar | None = None


def start() -> Sidecar | None:
    """Start this process's helper (once); None where it cannot start (then tracking runs in
    this process, as before)."""
    global _current
    if _current is None:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sweeper.tracking.sidecar"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
            )  # fmt: skip
        except OSError:
            return None
        _current = Sidecar(proc)
    return _current


def current() -> Sidecar | None:
    return _current


def quiet() -> None:
    """Wait until the helper has answered everything asked of it."""
    if _current is not None:
        _current.quiet()


def settle() -> None:
    """Take the answers that have come (their warnings said now), without waiting."""
    if _current is not None:
        _current.settle()


def discard() -> None:
    """The sweep tracks nothing: the helper goes at once (its imports are not waited for)."""
    global _current
    helper, _current = _current, None
    if helper is not None:
        helper.kill("discarded")


def stop() -> None:
    """The end of the sweep (idempotent): the helper's last answers, then its exit."""
    global _current
    helper, _current = _current, None
    if helper is not None:
        helper.close()


class RemoteTracker:
    """`Tracker`'s calls, made by the tracking helper (sweeper.tracking.sidecar)."""

    def __init__(self, cfg: TrackingConfig, helper: Sidecar) -> None:
        self.cfg, self.helper = absolute(cfg), helper

    def experiment_id(self) -> str:
        return str(self.helper.call("experiment_id", self.cfg))

    def start_run(self, name: str, tags: Mapping[str, str], parent_id: str | None = None) -> str:
        return str(self.helper.call("start_run", self.cfg, name, dict(tags), parent_id))

    def end_run(self, run_id: str, status: str) -> None:
        self.helper.call("end_run", self.cfg, run_id, status)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.helper.call("set_tags", self.cfg, run_id, dict(tags))

    def log_job(self, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float],
                series: Iterable[Point] = ()) -> None:  # fmt: skip
        self.helper.call("log_job", self.cfg, run_id, dict(params), dict(metrics), list(series))

    def log_artifacts(
        self, run_id: str, directory: Path, exclude: frozenset[str] = frozenset()
    ) -> None:
        self.helper.call("log_artifacts", self.cfg, run_id, directory.resolve(), exclude)


def absolute(cfg: TrackingConfig) -> dict[str, Any]:
    """The tracking config as the helper gets it: a plain dict (unpickling the schema would
    import Hydra there first), a relative SQLite path made this process's (the helper's
    working directory may differ)."""
    fields = dataclasses.asdict(cfg)
    path = cfg.uri.removeprefix("sqlite:///")
    if cfg.uri.startswith("sqlite:///") and not path.startswith("/"):
        fields["uri"] = f"sqlite:///{Path(path).resolve()}"
    return fields


def _config(fields: dict[str, Any]) -> TrackingConfig:
    """What `Tracker` reads of a tracking config (uri, experiment, ...), in the helper."""
    return SimpleNamespace(**fields)  # type: ignore[return-value]


class InProcess:
    """No helper (a launcher's worker process, a library caller): what is asked is done here,
    at once, with the helper's operations and answers."""

    def submit(self, op: str, *args: Any, done: Done | None = None,
               failed: Failed | None = None) -> None:  # fmt: skip
        _hand(run_operation(op, args), done, failed)


def _hand(answer: tuple[str, Any], done: Done | None, failed: Failed | None) -> None:
    """An answer to whoever waits for it: `done(value)` or `failed(message)`."""
    status, value = answer
    if status == "ok" and done is not None:
        done(value)
    elif status != "ok" and failed is not None:
        failed(str(value))


def asker() -> Sidecar | InProcess:
    """Where tracking requests go: the helper, or this process."""
    return InProcess() if _current is None else _current


def tracker_for(cfg: TrackingConfig) -> Tracker | RemoteTracker:
    """The tracking helper's tracker where the sweep started one, else this process's."""
    from sweeper.tracking.mlflow_client import Tracker

    return Tracker(cfg) if _current is None else RemoteTracker(cfg, _current)


# --- the helper's side ------------------------------------------------------------------------


def _serve(requests: int, answers: int) -> None:
    from sweeper.tracking import mlflow_client

    mlflow_client.preload()
    _send(answers, ("ok", READY))
    reader = os.fdopen(requests, "rb", buffering=1 << 16)
    while head := reader.read(_HEADER.size):
        op, args = pickle.loads(reader.read(_HEADER.unpack(head)[0]))
        _send(answers, run_operation(op, args))


def run_operation(op: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """One request, answered: `("ok", value)`, or `("error", one line)` for any failure."""
    from sweeper.tracking import mlflow_client

    try:
        if op == "write_job_run":
            cfg, entry = args
            return "ok", mlflow_client.write_job_run(_config(cfg), entry)
        if op not in mlflow_client.TRACKER_OPS:
            raise ValueError(f"no tracking operation {op!r}")
        return "ok", _method(op)(*args)
    except Exception as e:  # every failure goes back as one line
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return "error", (text if isinstance(e, mlflow_client.TrackingError)
                         else f"{type(e).__name__}: {text}")  # fmt: skip


def _method(name: str) -> Callable[..., Any]:
    from sweeper.tracking.mlflow_client import Tracker

    return lambda cfg, *args: getattr(Tracker(_config(cfg)), name)(*args)


def _send(fd: int, answer: tuple[str, Any]) -> None:
    frame = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HEADER.pack(len(frame)) + frame)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.nice(NICE)  # beside a benchmark: only what the client and the server leave (docstring)
    # the answers get a descriptor of their own; what MLflow prints goes to stderr
    answers_fd = os.dup(1)
    os.dup2(2, 1)
    _serve(0, answers_fd)
    # everything asked is answered and committed: no collector pass over MLflow's heap at exit
    sys.stderr.flush()
    os._exit(0)
