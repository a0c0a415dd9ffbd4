from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from instruments.errors import ServerStartError
from launchers.kinds import LaunchPlan
from launchers.process import ServerProcess, free_port, group_members


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
