"""The tracking helper (sweeper.tracking.sidecar) against a real SQLite store: a job recorded
through it is the same child run as one recorded in-process, its failures are the same one-line
warnings, the parent run is asked for without waiting, and the helper goes when its sweep goes —
at the end, or SIGKILLed — while a Ctrl-C to the process group leaves it answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from sweeper.schema import TrackingConfig
from sweeper.tracking import sidecar
from sweeper.tracking.job_run import record_job
from sweeper.tracking.mlflow_client import TrackingError
from sweeper.tracking.sweep_run import RUN_ID_ENV, SweepRun
from tests.helpers.processes import REPO
from tests.unit.sweeper.tracking.test_job_run import finished_job, run_experiment


@pytest.fixture(scope="module")
def helper() -> Iterator[sidecar.Sidecar]:
    started = sidecar.start()
    assert started is not None
    try:
        yield started
    finally:
        sidecar.stop()
    assert started.proc.returncode == 0  # it exited on its own once its stdin closed


@pytest.fixture(autouse=True)
def no_inherited_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RUN_ID_ENV, raising=False)


def test_a_job_recorded_by_the_helper_is_the_full_child_run(
    helper: sidecar.Sidecar, tmp_path: Path, store_uri: str
) -> None:
    spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={store_uri}"])
    sweep = SweepRun()
    sweep.open(tmp_path / "sweeps" / "12-00-00", spec.tracking, ["concurrency=1"], wait=False)
    assert sweep.opening  # asked, not waited for
    parent = sweep.parent_id()
    assert parent is not None and not sweep.opening

    record_job(spec, ctx, outcome, parent, sweep)
    sidecar.quiet()  # every answer taken (a job only settles before its benchmark)

    assert sweep.warnings == []
    client = MlflowClient(store_uri)
    runs = {r.data.tags["sweeper.kind"]: r for r in client.search_runs([run_experiment(client)])}
    job = runs["job"]
    assert runs["sweep"].info.run_id == parent
    assert job.data.tags["mlflow.parentRunId"] == parent
    assert job.info.status == "FINISHED" and job.info.run_name == "concurrency=1"
    assert job.data.params["concurrency"] == "1"
    assert job.data.metrics["output_throughput"] == 12.5
    history = client.get_metric_history(job.info.run_id, "ts.completed")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 3.0), (2, 5.0)]
    assert [a.path for a in client.list_artifacts(job.info.run_id)] == ["result.json"]


def test_the_helper_runs_at_the_lowest_priority(helper: sidecar.Sidecar, store_uri: str) -> None:
    sidecar.tracker_for(TrackingConfig(uri=store_uri)).experiment_id()  # it has started
    assert os.getpriority(os.PRIO_PROCESS, helper.proc.pid) == sidecar.NICE == 19


# a stand-in helper: says it is ready, then answers each request once the file `go` exists
STAND_IN = """
import os, pickle, struct, sys, time
from sweeper.tracking.sidecar import _send
out = os.dup(1)
_send(out, ("ok", "ready"))
n = 0
while head := sys.stdin.buffer.read(4):
    op, args = pickle.loads(sys.stdin.buffer.read(struct.unpack("!I", head)[0]))
    while not os.path.exists("go"):
        time.sleep(0.01)
    n += 1
    _send(out, ("ok", n))
"""


def stand_in(cwd: Path) -> sidecar.Sidecar:
    proc = subprocess.Popen(
        [sys.executable, "-c", STAND_IN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    return sidecar.Sidecar(proc)


def test_settle_takes_what_has_come_and_never_waits(tmp_path: Path) -> None:
    helper = stand_in(tmp_path)
    answers: list[int] = []
    helper.submit("op", done=answers.append)
    helper.submit("op", done=answers.append)
    helper.settle()  # the helper holds both answers back: nothing to take, no wait
    assert answers == []
    (tmp_path / "go").touch()
    helper.quiet()
    assert answers == [1, 2]
    helper.settle()  # nothing pending
    helper.close()
    assert helper.proc.returncode == 0


def test_submit_waits_once_max_pending_requests_are_unanswered(tmp_path: Path) -> None:
    helper = stand_in(tmp_path)
    (tmp_path / "go").touch()
    answers: list[int] = []
    for _ in range(sidecar.MAX_PENDING + 1):
        helper.submit("op", done=answers.append)
    # the last submit found MAX_PENDING in flight (the ready answer among them) and took them
    assert answers == list(range(1, sidecar.MAX_PENDING))
    helper.close()
    assert answers == list(range(1, sidecar.MAX_PENDING + 2))


def test_a_relative_sqlite_path_is_the_sweeps_working_directory(
    helper: sidecar.Sidecar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = TrackingConfig(uri="sqlite:///here/mlflow.db")
    run_id = sidecar.tracker_for(cfg).start_run("x", {"k": "v"})
    assert (tmp_path / "here" / "mlflow.db").is_file()
    assert (
        MlflowClient(f"sqlite:///{tmp_path}/here/mlflow.db").get_run(run_id).data.tags["k"] == "v"
    )


def test_a_dead_store_is_the_same_warning_through_the_helper(
    helper: sidecar.Sidecar, tmp_path: Path
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    spec, ctx, outcome = finished_job(tmp_path, [f"tracking.uri={uri}", "tracking.timeout_s=1"])
    sweep = SweepRun()

    record_job(spec, ctx, outcome, None, sweep)
    assert sweep.warnings == []  # the answer is taken later
    sidecar.quiet()

    (warning,) = sweep.warnings
    assert warning.startswith(f"job 5 not tracked (its files are in {ctx.job_dir}): ")
    assert f"MLflow ({uri}) could not create run" in warning
    with pytest.raises(TrackingError, match=r"could not create run"):
        sidecar.tracker_for(spec.tracking).start_run("x", {})


def test_ctrl_c_to_the_group_leaves_the_helper_answering(
    helper: sidecar.Sidecar, store_uri: str
) -> None:
    os.kill(helper.proc.pid, signal.SIGINT)
    os.kill(helper.proc.pid, signal.SIGTERM)
    cfg = TrackingConfig(uri=store_uri)
    run_id = sidecar.tracker_for(cfg).start_run("after-ctrl-c", {})
    sidecar.tracker_for(cfg).end_run(run_id, "KILLED")
    assert MlflowClient(store_uri).get_run(run_id).info.status == "KILLED"


def test_a_helper_that_is_gone_is_a_tracking_error_not_a_hang(tmp_path: Path) -> None:
    child = [sys.executable, "-c", "pass"]
    lone = sidecar.Sidecar(subprocess.Popen(child, stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    lone.proc.wait()
    with pytest.raises(TrackingError, match=r"^MLflow helper \(pid \d+\) (exited \(0\)|gone: )"):
        lone.call("experiment_id", TrackingConfig(uri=f"sqlite:///{tmp_path}/m.db"))
    failed: list[str] = []
    lone.submit("experiment_id", None, failed=failed.append)  # at once, the same reason
    assert failed == [lone.gone]
    lone.close()


SWEEP = """
import sys, time
from sweeper.tracking import sidecar
print(sidecar.start().proc.pid, flush=True)
time.sleep(120)
"""


def test_the_helper_dies_with_a_sigkilled_sweep() -> None:
    sweep = subprocess.Popen(
        [sys.executable, "-c", SWEEP], stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert sweep.stdout is not None
    pid = int(sweep.stdout.readline())
    sweep.kill()
    sweep.wait()
    # the kernel closed its pipe: the helper finishes its imports, reads the end, exits
    deadline = time.monotonic() + 60
    while alive(pid):
        assert time.monotonic() < deadline, f"helper {pid} outlived its sweep"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
