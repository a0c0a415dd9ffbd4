"""The test-process helper: default signal dispositions back in the child, the whole group
reaped."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers.processes import Spawned, group_members, run_captured

SHOW_SIGINT = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
# a shell whose background child stays in its group after the shell is gone
ORPHAN_IN_GROUP = "sleep 600 & echo $!"
SHOW_SIGHUP = "import signal; print(signal.getsignal(signal.SIGHUP) is signal.SIG_DFL)"
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + (
    "print('ready', flush=True); time.sleep(600)"
)


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """This process ignores SIGINT, as a shell's background job does (children inherit it)."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_child_gets_python_sigint_handler_though_the_parent_ignores_sigint(
    sigint_ignored: None,
) -> None:
    plain = subprocess.run([sys.executable, "-c", SHOW_SIGINT], capture_output=True, text=True)
    assert plain.stdout.strip() == "False", "the inherited SIG_IGN this helper undoes"
    assert run_captured([sys.executable, "-c", SHOW_SIGINT], timeout=60).stdout.strip() == "True"


def test_child_gets_sighup_back_though_the_parent_runs_under_nohup() -> None:
    """`nohup` starts its command with SIGHUP ignored; sweeper keeps an ignored SIGHUP ignored,
    so a test's SIGHUP would not reach it unless the helper restores the default."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        plain = subprocess.run([sys.executable, "-c", SHOW_SIGHUP], capture_output=True, text=True)
        shown = run_captured([sys.executable, "-c", SHOW_SIGHUP], timeout=60).stdout.strip()
    finally:
        signal.signal(signal.SIGHUP, before)
    assert plain.stdout.strip() == "False", "the inherited SIG_IGN this helper undoes"
    assert shown == "True"


def test_child_started_from_a_thread_gets_sigint_back(sigint_ignored: None) -> None:
    out: list[str] = []
    thread = threading.Thread(
        target=lambda: out.append(
            run_captured([sys.executable, "-c", SHOW_SIGINT], timeout=60).stdout
        )
    )
    thread.start()
    thread.join(60)
    assert [o.strip() for o in out] == ["True"]


def test_sigint_reaches_a_python_child(sigint_ignored: None) -> None:
    wait = "import time; print('ready', flush=True); time.sleep(600)"
    with Spawned([sys.executable, "-c", wait], stdout=subprocess.PIPE) as child:
        assert child.proc.stdout is not None and child.proc.stdout.readline() == "ready\n"
        child.proc.send_signal(signal.SIGINT)
        # an uncaught KeyboardInterrupt ends Python with SIGINT itself, as the shell expects
        assert child.proc.wait(30) == -signal.SIGINT


def test_reap_stops_what_the_child_left_in_its_group() -> None:
    with Spawned(["sh", "-c", ORPHAN_IN_GROUP], stdout=subprocess.PIPE) as child:
        assert child.proc.stdout is not None
        orphan = psutil.Process(int(child.proc.stdout.readline()))
        assert child.proc.wait(30) == 0
        assert [p.pid for p in group_members(child.pid)] == [orphan.pid]
    assert not group_members(child.pid)
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE


def test_sigterm_then_sigkill_after_the_grace_period() -> None:
    child = Spawned([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE, grace_s=1)
    with child:
        assert child.proc.stdout is not None and child.proc.stdout.readline() == "ready\n"
        t0 = time.monotonic()
    assert child.proc.returncode == -signal.SIGKILL
    assert 1 <= time.monotonic() - t0 < 10
    assert child.reap() == 0.0  # once reaped, a second reap has nothing to do


def test_log_gets_both_streams(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    code = "import sys; print('out'); print('err', file=sys.stderr)"
    with Spawned([sys.executable, "-c", code], log=log) as child:
        child.proc.wait(30)
    assert sorted(log.read_text().split()) == ["err", "out"]
