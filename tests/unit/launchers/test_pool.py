from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from instruments.errors import ConfigError, ServerStartError
from launchers.config import ModelConfig
from launchers.kinds.command import CommandKind, CommandServerConfig
from launchers.kinds.external import ExternalServerConfig
from launchers.kinds.sim import SimKind, SimServerConfig
from launchers.pool import ServerPool, fingerprint
from launchers.process import free_port

MODEL = ModelConfig(name="toy")


def toy_server(*flags: str) -> CommandServerConfig:
    argv = [sys.executable, "-m", "tests.helpers.toy_server", "{port}", "--model", "{model}"]
    return CommandServerConfig(argv=[*argv, *flags], ready_timeout_s=30)


def toy_servers() -> list[int]:
    """This process's live toy servers."""
    return [
        p.pid
        for p in psutil.Process().children()
        if "tests.helpers.toy_server" in p.cmdline() and p.status() != psutil.STATUS_ZOMBIE
    ]


def test_fingerprint_tracks_identity_not_timeouts() -> None:
    cfg = toy_server()
    assert fingerprint(MODEL, cfg) == fingerprint(MODEL, replace(cfg))
    assert fingerprint(MODEL, cfg) == fingerprint(MODEL, replace(cfg, ready_timeout_s=1))
    assert fingerprint(MODEL, cfg) != fingerprint(MODEL, replace(cfg, env={"X": "1"}))
    assert fingerprint(MODEL, cfg) != fingerprint(ModelConfig(name="other"), cfg)


def test_reuse_same_fingerprint_and_restart_on_change(tmp_path: Path) -> None:
    pool = ServerPool()
    try:
        a = pool.acquire(MODEL, toy_server(), tmp_path)
        b = pool.acquire(MODEL, toy_server(), tmp_path)
        assert not a.reused and b.reused and a.pid == b.pid and pool.starts == 1
        with urllib.request.urlopen(b.base_url + "/resets") as r:
            assert json.loads(r.read())["n"] == 1  # prefix cache reset between reusing jobs
        c = pool.acquire(MODEL, toy_server("--child"), tmp_path)
        assert not c.reused and c.pid != a.pid and pool.starts == 2
        assert not psutil.pid_exists(a.pid) or psutil.Process(a.pid).status() == "zombie"
    finally:
        pool.close()


def test_while_starting_runs_beside_a_new_server_start_only(tmp_path: Path) -> None:
    pool = ServerPool()
    seen: list[tuple[int, bool]] = []

    def meanwhile() -> None:  # the server's process exists; its health was not awaited yet
        (pid,) = toy_servers()
        seen.append((pid, pool.starts == 1))

    try:
        a = pool.acquire(MODEL, toy_server(), tmp_path, while_starting=meanwhile)
        pool.acquire(MODEL, toy_server(), tmp_path, while_starting=meanwhile)  # reused
        assert seen == [(a.pid, True)]
    finally:
        pool.close()


def test_a_failing_while_starting_stops_the_server(tmp_path: Path) -> None:
    pool = ServerPool()
    pids: list[int] = []

    def meanwhile() -> None:
        pids.extend(toy_servers())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pool.acquire(MODEL, toy_server(), tmp_path, while_starting=meanwhile)
    assert len(pids) == 1 and toy_servers() == []
    pool.close()


def test_dead_server_is_restarted(tmp_path: Path) -> None:
    pool = ServerPool()
    try:
        a = pool.acquire(MODEL, toy_server(), tmp_path)
        psutil.Process(a.pid).kill()
        psutil.Process(a.pid).wait(5)
        b = pool.acquire(MODEL, toy_server(), tmp_path)
        assert not b.reused and b.pid != a.pid
    finally:
        pool.close()


def test_hung_reused_server_is_stopped_and_replaced_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A stopped process (SIGSTOP) is alive but answers nothing: the health check finds it."""
    monkeypatch.setattr("launchers.pool.HEALTH_TIMEOUT_S", 1.0)
    cfg = replace(toy_server(), stop_timeout_s=1)
    pool = ServerPool()
    try:
        a = pool.acquire(MODEL, cfg, tmp_path)
        assert a.pid is not None
        os.kill(a.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="launchers.pool"):
            b = pool.acquire(MODEL, cfg, tmp_path)
        print(f"hung server found and replaced in {time.monotonic() - t0:.1f} s")
        assert not b.reused and b.pid != a.pid and pool.starts == 2
        assert not psutil.pid_exists(a.pid) or psutil.Process(a.pid).status() == "zombie"
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                      and "starting a new one" in r.getMessage()]  # fmt: skip
        assert "is not healthy since the last job (GET /health: no answer in 1 s)" in warning
    finally:
        pool.close()


def test_reused_server_whose_health_fails_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ServerPool()
    try:
        a = pool.acquire(MODEL, toy_server(), tmp_path)
        monkeypatch.setattr("launchers.pool.http_get", lambda url, timeout: (503, b""))
        with caplog.at_level(logging.WARNING, logger="launchers.pool"):
            b = pool.acquire(MODEL, toy_server(), tmp_path)
        assert not b.reused and b.pid != a.pid
        assert "GET /health: answered 503" in caplog.text
    finally:
        pool.close()


def test_failed_start_is_retried_by_next_job(tmp_path: Path) -> None:
    pool = ServerPool()
    bad = toy_server("--exit-at-once")
    for _ in range(2):
        with pytest.raises(ServerStartError, match="bad argument"):
            pool.acquire(MODEL, bad, tmp_path)
    assert pool.starts == 2


def test_external_unreachable_is_quick_one_line_error(tmp_path: Path) -> None:
    cfg = ExternalServerConfig(base_url=f"http://127.0.0.1:{free_port()}", ready_timeout_s=1)
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as err:
        ServerPool().acquire(MODEL, cfg, tmp_path)
    assert time.monotonic() - t0 < 5
    assert "\n" not in str(err.value) and cfg.base_url in str(err.value)


def test_command_argv_reaches_server_verbatim(tmp_path: Path) -> None:
    cfg = CommandServerConfig(argv=["srv", "--x", "a;b $(rm -rf /) {port}", "{model_path}"])
    plan = CommandKind().plan(ModelConfig(name="m", path="/p"), cfg, 1234, tmp_path)
    assert plan.argv == ["srv", "--x", "a;b $(rm -rf /) 1234", "/p"]


def test_unknown_kind_is_config_error(tmp_path: Path) -> None:
    cfg = CommandServerConfig(kind="nope", argv=["x"])
    with pytest.raises(ConfigError, match=r"server\.kind"):
        ServerPool().acquire(MODEL, cfg, tmp_path)


def test_sim_gets_the_models_context_length_unless_the_server_sets_one(tmp_path: Path) -> None:
    model = ModelConfig(name="m", max_model_len=4096)
    argv = SimKind().plan(model, SimServerConfig(), 1, tmp_path).argv
    assert argv[argv.index("--max-model-len") + 1] == "4096"
    argv = SimKind().plan(model, SimServerConfig(max_model_len=1024), 1, tmp_path).argv
    assert argv[argv.index("--max-model-len") + 1] == "1024" and argv.count("--max-model-len") == 1


@pytest.mark.parametrize(
    ("cpus", "needle"), [("0,x", "not a CPU list"), ("", "not a CPU list"), ("4095", "no CPU")]
)
def test_bad_sim_cpus_fail_before_any_process_starts(
    cpus: str, needle: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=rf"^server\.cpus: {needle}") as info:
        ServerPool().acquire(MODEL, SimServerConfig(cpus=cpus), tmp_path)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.rglob("server.log"))  # nothing was started


def test_server_cpus_pin_the_started_server(tmp_path: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    pool = ServerPool()
    try:
        lease = pool.acquire(MODEL, SimServerConfig(profile="fast", cpus=str(cpu)), tmp_path)
        assert lease.pid is not None
        assert psutil.Process(lease.pid).cpu_affinity() == [cpu]
        # server.cpus is part of what the server is: another value starts another server
        other = min(os.sched_getaffinity(0))
        again = pool.acquire(MODEL, SimServerConfig(profile="fast", cpus=str(other)), tmp_path)
        assert again.reused is (other == cpu)
    finally:
        pool.close()


def test_server_cpus_on_an_external_server_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^server\.cpus: server=external"):
        ServerPool().acquire(MODEL, ExternalServerConfig(cpus="0"), tmp_path)
