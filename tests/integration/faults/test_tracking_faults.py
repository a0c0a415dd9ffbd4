"""MLflow unreachable: jobs complete with their files, a warning comes quickly, and the job dirs
can be read by `python -m analysis` and pushed to MLflow later with `python -m analysis sync`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from tests.helpers.cli import Sweep
from tests.helpers.processes import REPO, Spawned
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import LiveRun, job_dirs, read_result

SILENT_TIMEOUT_S = 2


@dataclass
class DeadMlflowSweep(Sweep):
    dead_uri: str = ""

    @property
    def uri(self) -> str:
        return self.dead_uri


@dataclass
class Finished:
    sweep: DeadMlflowSweep
    run: LiveRun
    code: int


@pytest.fixture(scope="module")
def mlflow_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Finished]]:
    """A sweep against a dead port and a job against a port that accepts but never answers,
    at once."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # connections complete in the kernel; nothing ever reads or answers
    sweeps = {
        "dead": DeadMlflowSweep(
            tmp_path_factory.mktemp("dead-mlflow"), dead_uri=f"http://127.0.0.1:{free_port()}"
        ),
        "silent": DeadMlflowSweep(
            tmp_path_factory.mktemp("silent-mlflow"),
            dead_uri=f"http://127.0.0.1:{silent.getsockname()[1]}",
        ),
    }
    overrides = {
        "dead": ("-m", "concurrency=1,2", "num_prompts=6", "server.profile=fast"),
        "silent": (
            "num_prompts=6",
            "server.profile=fast",
            f"tracking.timeout_s={SILENT_TIMEOUT_S}",
        ),
    }
    runs = {name: LiveRun(sweeps[name], *overrides[name]) for name in sweeps}
    try:
        yield {
            name: Finished(sweeps[name], run, run.wait(timeout=120)) for name, run in runs.items()
        }
    finally:
        for run in runs.values():
            run.reap()
        silent.close()


@pytest.fixture(scope="module")
def dead_mlflow(mlflow_down: dict[str, Finished]) -> Finished:
    return mlflow_down["dead"]


def test_mlflow_unreachable_job_completes_with_files_and_quick_warning(
    dead_mlflow: Finished, fault_row: RecordRow
) -> None:
    run, sweep = dead_mlflow.run, dead_mlflow.sweep
    started = [run.first(f"#{n} :") for n in (0, 1)]
    warned = [run.first(f"job {n} not tracked") for n in (0, 1)]
    results = [read_result(d) for d in job_dirs(sweep.sweep_dir)]
    delays = [w - s for s, w in zip(started, warned, strict=True) if s is not None and w]
    warning = next((line for _, line in run.lines if "job 0 not tracked" in line), "")
    fault_row(
        "mlflow_dead",
        f"exit {dead_mlflow.code}; jobs {[r['sweeper']['status'] for r in results]} with "
        f"result.json + requests.parquet; job start → warning {[f'{d:.1f}' for d in delays]} s: "
        f"{warning.split('] - ')[-1][:150]}",
    )
    assert dead_mlflow.code == 0, run.output[-3000:]
    assert [r["completed"] for r in results] == [6, 6]
    for d in job_dirs(sweep.sweep_dir):
        assert len(pd.read_parquet(d / "requests.parquet")) == 6
        assert (d / "server.log").is_file()
    assert None not in started and None not in warned, run.output[-3000:]
    # a job takes a second or two here; the warning must not wait on minutes of retries
    assert all(d < 10 for d in delays), delays
    assert run.first("sweep run not tracked") is not None


def test_mlflow_silent_costs_the_tracking_timeout_not_minutes(
    mlflow_down: dict[str, Finished], fault_row: RecordRow
) -> None:
    silent = mlflow_down["silent"]
    run = silent.run
    ended = run.first("server ready at")
    warned = run.first("job 0 not tracked")
    result = read_result(silent.sweep.root / "run")
    delay = warned - ended if ended is not None and warned is not None else None
    fault_row(
        "mlflow_silent",
        f"exit {silent.code}; job {result['sweeper']['status']}, files kept; warning "
        f"{delay if delay is None else round(delay, 1)} s after its server was ready "
        f"(a ~1 s benchmark, then tracking.timeout_s={SILENT_TIMEOUT_S})",
    )
    assert silent.code == 0, run.output[-3000:]
    assert result["completed"] == 6
    assert delay is not None, run.output[-3000:]
    # "~10 s": the benchmark, importing MLflow (seconds on a busy machine), one timed-out call
    assert delay < 15


def analysis(*args: str, cwd: Path) -> Spawned:
    # cwd is a temp dir (MLflow may write ./mlruns); PYTHONPATH keeps this checkout's code
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return Spawned(
        [sys.executable, "-m", "analysis", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def finish(child: Spawned) -> subprocess.CompletedProcess[str]:
    out, err = child.proc.communicate(timeout=120)
    return subprocess.CompletedProcess(child.argv, child.proc.returncode, out, err)


def test_analysis_reads_job_dirs_and_sync_pushes_them_later(
    dead_mlflow: Finished, fault_row: RecordRow, tmp_path: Path
) -> None:
    sweep = dead_mlflow.sweep
    uri = f"sqlite:///{tmp_path}/later.db"
    with (
        analysis(
            "export", str(tmp_path / "runs.csv"), "--dirs", str(sweep.root), cwd=tmp_path
        ) as export,
        analysis("sync", str(sweep.sweep_dir), "--tracking-uri", uri, cwd=tmp_path) as sync,
    ):
        exported, synced = finish(export), finish(sync)
    frame = pd.read_csv(tmp_path / "runs.csv") if exported.returncode == 0 else pd.DataFrame()
    jobs = []
    if synced.returncode == 0:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name("sweeper")
        jobs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    fault_row(
        "analysis_sync",
        f"export --dirs: exit {exported.returncode}, {len(frame)} rows; sync: exit "
        f"{synced.returncode}, {len(jobs)} job runs "
        f"({synced.stdout.strip() or synced.stderr.strip()[-200:]})",
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert len(frame) == 2
    assert synced.returncode == 0, synced.stderr[-2000:]
    assert len(jobs) == 2
    assert sorted(r.data.metrics["completed"] for r in jobs) == [6, 6]
    assert {r.data.params["concurrency"] for r in jobs} == {"1", "2"}
