from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from instruments.errors import ServerStartError
from launchers.kinds import LaunchPlan
from launchers.process import ServerProcess, free_port, group_members, http_get
from tests.helpers.processes import Spawned


def toy_plan(tmp_path: Path, *flags: str) -> LaunchPlan:
    port = free_port()
    argv = [sys.executable, "-m", "tests.helpers.toy_server", str(port), *flags]
    return LaunchPlan(argv=argv, base_url=f"http://127.0.0.1:{port}", served_model="toy")


def test_start_ready_and_stop_leaves_empty_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids.json"
    plan = toy_plan(tmp_path, "--child", "--pidfile", str(pidfile))
    proc = ServerProcess(plan, tmp_path / "s.log")
    proc.wait_ready(30)
    grandchild = json.loads(pidfile.read_text())[0]
    assert psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE
    assert group_members(proc.pid), "server group should be populated while running"
    proc.stop()
    assert group_members(proc.pid) == []
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"
    assert "toy server ready" in (tmp_path / "s.log").read_text()


def test_server_and_its_children_run_on_plan_cpus(tmp_path: Path) -> None:
    mine = os.sched_getaffinity(0)
    cpu = max(mine)
    pidfile = tmp_path / "pids.json"
    plan = toy_plan(tmp_path, "--child", "--pidfile", str(pidfile))
    plan.cpus = {cpu}
    proc = ServerProcess(plan, tmp_path / "s.log")
    try:
        proc.wait_ready(30)
        grandchild = json.loads(pidfile.read_text())[0]
        assert psutil.Process(proc.pid).cpu_affinity() == [cpu]
        assert psutil.Process(grandchild).cpu_affinity() == [cpu]
    finally:
        proc.stop()
    assert os.sched_getaffinity(0) == mine  # only the server was pinned


def test_cpus_the_server_cannot_run_on_are_one_line(tmp_path: Path) -> None:
    plan = toy_plan(tmp_path)
    plan.cpus = {4095}
    with pytest.raises(ServerStartError, match=r"^server\.cpus: cannot run on CPUs 4095 here"):
        ServerProcess(plan, tmp_path / "s.log")


def test_exit_at_once_fails_fast_with_log_tail(tmp_path: Path) -> None:
    proc = ServerProcess(toy_plan(tmp_path, "--exit-at-once"), tmp_path / "s.log")
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as err:
        proc.wait_ready(60)
    assert time.monotonic() - t0 < 10
    assert "exited with code 3" in str(err.value)
    assert "fatal: bad argument" in str(err.value)


def test_never_healthy_times_out_and_is_stopped(tmp_path: Path) -> None:
    proc = ServerProcess(toy_plan(tmp_path, "--never-healthy"), tmp_path / "s.log")
    with pytest.raises(ServerStartError, match="not ready after 2s"):
        proc.wait_ready(2)
    assert not proc.alive()
    assert group_members(proc.pid) == []


def test_sigterm_ignored_gets_sigkill(tmp_path: Path) -> None:
    plan = toy_plan(tmp_path, "--ignore-sigterm", "--child")
    proc = ServerProcess(plan, tmp_path / "s.log", stop_timeout_s=1)
    proc.wait_ready(30)
    t0 = time.monotonic()
    code = proc.stop()
    assert code == -9
    assert time.monotonic() - t0 < 8
    assert group_members(proc.pid) == []


def test_missing_executable_is_one_line_error(tmp_path: Path) -> None:
    plan = LaunchPlan(argv=["/nonexistent/server-binary"], base_url="http://127.0.0.1:1")
    with pytest.raises(ServerStartError, match="cannot run '/nonexistent/server-binary'"):
        ServerProcess(plan, tmp_path / "s.log")


def stubborn_plan() -> LaunchPlan:
    """A server that ignores SIGTERM with a child that left its group and session (setsid)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.helpers.stubborn_server", str(port)]
    return LaunchPlan(argv=argv, base_url=f"http://127.0.0.1:{port}")


def sessions(pids: set[int]) -> set[int]:
    found = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            found.add(os.getsid(pid))
    return found


def wait_setsid(proc: ServerProcess) -> set[int]:
    """The server's processes once its child has moved to a session of its own."""
    deadline = time.monotonic() + 30
    while len(sessions(members := proc.members())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def test_stop_also_kills_a_descendant_that_left_the_group(tmp_path: Path) -> None:
    proc = ServerProcess(stubborn_plan(), tmp_path / "s.log", stop_timeout_s=1)
    proc.wait_ready(30)
    members = wait_setsid(proc)
    assert len(sessions(members)) == 2, "the child runs in a session of its own"
    proc.stop()
    assert not proc.members()
    assert not [pid for pid in members if psutil.pid_exists(pid) and _live(pid)]
    proc.stop()  # a second stop finds nothing to do


def _live(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


OWNER = """
import sys, time
from pathlib import Path
from launchers.kinds import LaunchPlan
from launchers.process import ServerProcess
plan = LaunchPlan(argv=sys.argv[2:], base_url="http://127.0.0.1:" + sys.argv[5])
proc = ServerProcess(plan, Path(sys.argv[1]), stop_timeout_s=1)
proc.wait_ready(30)
print(proc.pid, flush=True)
time.sleep(600)
"""


def test_a_sigkilled_owner_leaves_no_server_process(tmp_path: Path) -> None:
    """The watchdog kills the server, its setsid'ed child (both ignore SIGTERM) and exits."""
    plan = stubborn_plan()
    argv = [sys.executable, "-c", OWNER, str(tmp_path / "s.log"), *plan.argv]
    with Spawned(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as owner:
        assert owner.proc.stdout is not None
        server = int(owner.proc.stdout.readline())
        deadline = time.monotonic() + 30
        while len(started := psutil.Process(owner.pid).children(recursive=True)) < 3:
            assert time.monotonic() < deadline, started  # watchdog, server, its child
            time.sleep(0.05)
        assert server in {p.pid for p in started}
        t0 = time.monotonic()
        owner.proc.kill()
        _, alive = psutil.wait_procs(started, timeout=15)
        print(f"{len(started)} processes gone {time.monotonic() - t0:.1f} s after SIGKILL")
        _, err = owner.proc.communicate(timeout=15)
    assert not alive, alive
    assert "watchdog: sweeper" in err and "is gone" in err


def test_health_and_reset_ignore_proxy_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(var, dead)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen's opener, built anew
    proc = ServerProcess(toy_plan(tmp_path), tmp_path / "s.log")
    try:
        proc.wait_ready(30)  # /health and /v1/models
        assert proc.reset_prefix_cache()
        status, body = http_get(proc.base_url + "/resets")
        assert (status, json.loads(body)) == (200, {"n": 1})
    finally:
        proc.stop()
