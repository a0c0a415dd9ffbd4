"""MLflow unreachable: jobs complete with their files, a warning comes quickly, and the job dirs
can be read by `python -m analysis` and pushed to MLflow later with `python -m analysis sync`."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from tests.helpers.cli import REPO, Sweep
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import LiveRun, job_dirs, read_result


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
def dead_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    root = tmp_path_factory.mktemp("dead-mlflow")
    sweep = DeadMlflowSweep(root, dead_uri=f"http://127.0.0.1:{free_port()}")
    with LiveRun(sweep, "-m", "concurrency=1,2", "num_prompts=6", "server.profile=fast") as run:
        code = run.wait(timeout=120)
    return Finished(sweep, run, code)


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


def analysis(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd is a temp dir (MLflow may write ./mlruns); PYTHONPATH keeps this checkout's code
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_analysis_reads_job_dirs_and_sync_pushes_them_later(
    dead_mlflow: Finished, fault_row: RecordRow, tmp_path: Path
) -> None:
    sweep = dead_mlflow.sweep
    exported = analysis(
        "export", str(tmp_path / "runs.csv"), "--dirs", str(sweep.root), cwd=tmp_path
    )
    frame = pd.read_csv(tmp_path / "runs.csv") if exported.returncode == 0 else pd.DataFrame()
    uri = f"sqlite:///{tmp_path}/later.db"
    synced = analysis("sync", str(sweep.sweep_dir), "--tracking-uri", uri, cwd=tmp_path)
    again = analysis("sync", str(sweep.sweep_dir), "--tracking-uri", uri, cwd=tmp_path)
    jobs = []
    if synced.returncode == 0:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name("sweeper")
        jobs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    said = [p.stdout.strip() or p.stderr.strip()[-200:] for p in (synced, again)]
    fault_row(
        "analysis_sync",
        f"export --dirs: exit {exported.returncode}, {len(frame)} rows; sync: exit "
        f"{synced.returncode}, {len(jobs)} job runs ({said[0]}); sync again: {said[1]}",
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert len(frame) == 2
    assert synced.returncode == 0, synced.stderr[-2000:]
    assert len(jobs) == 2
    assert sorted(r.data.metrics["completed"] for r in jobs) == [6, 6]
    assert {r.data.params["concurrency"] for r in jobs} == {"1", "2"}
    assert again.returncode == 0 and len(jobs) == 2
