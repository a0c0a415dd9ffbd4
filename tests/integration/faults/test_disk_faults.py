"""A job dir that cannot be written, for real: a small tmpfs as the sweep dir, filled while a
job runs so that its files don't fit, and a job dir re-mounted read-only while its job runs
(we are root: a chmod would not stop us). The job is FAILED in one line naming the path and the
OS error, in its result (where that still fits) and in MLflow; the sweep counts it, goes on with
the next job and exits 1; nothing written before is lost.

Needs root (mount); the mounts are undone in a `finally`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep, sim_processes
from tests.integration.faults.live import LiveRun, wait_for

FAST = ("server.profile=fast", "load.progress=false", "report.enabled=false")
# job 1 is the big one: its requests.parquet (~0.6 MB) cannot fit in what the filler leaves;
# jobs 0 and 2 (10 requests) fit easily
OVERRIDES = ("-m", "num_prompts=10,300,10", "concurrency=32", "print_result=false", *FAST)
LEFT_FREE = 192 * 1024


@contextmanager
def mounted(*args: str) -> Iterator[None]:
    target = args[-1]
    subprocess.run(["mount", *args], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", target], check=True, capture_output=True)


def fill(directory: Path, leave: int) -> Path:
    """Write a file that takes all the free space of `directory`'s file system but `leave`."""
    st = os.statvfs(directory)
    size = max(st.f_bavail * st.f_frsize - leave, 0)
    filler = directory / "filler"
    with filler.open("wb") as f:
        f.write(b"\0" * size)
    return filler


def job_runs(sweep: Sweep) -> dict[int, Any]:
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    return {int(r.data.tags["sweeper.job_num"]): r for r in runs}


def result(sweep: Sweep, job: int) -> dict[str, Any]:
    return json.loads((sweep.sweep_dir / str(job) / "result.json").read_text())


def sweep_counts(sweep: Sweep) -> tuple[str, str]:
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    assert exp is not None
    (parent,) = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'sweep'")
    tags = parent.data.tags
    return tags.get("sweeper.jobs_done", ""), tags.get("sweeper.jobs_failed", "")


def test_full_disk_fails_that_job_in_one_line_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    sweep = Sweep(tmp_path)
    sweep.sweep_dir.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(sweep.sweep_dir)):
        with LiveRun(sweep, *OVERRIDES) as live:
            hydra_of_job_1 = sweep.sweep_dir / "1" / ".hydra" / "config.yaml"
            wait_for(hydra_of_job_1.exists, 120, "job 1 to start")
            fill(sweep.sweep_dir, LEFT_FREE)
            code = live.wait(240)
        job_0_files = sorted(p.name for p in (sweep.sweep_dir / "0").iterdir())
        first, full, after = result(sweep, 0), result(sweep, 1), result(sweep, 2)
        records_0 = len(pd.read_parquet(sweep.sweep_dir / "0" / "requests.parquet"))
        left_in_1 = sorted(p.name for p in (sweep.sweep_dir / "1").iterdir())
    error = full["sweeper"]["error"]
    lines = [line for _, line in live.lines if "[sweeper] job 1" in line]
    print(f"\nROW full disk | exit {code}, `{lines[0] if lines else ''}`, job 2 "
          f"{after['sweeper']['status']} | {live.first('[sweeper] job 1') or 0:.1f} s to job 1's "
          f"line | job 1's requests.parquet not written ({full['completed']} completed, kept in "
          f"MLflow metrics); job 0 intact ({records_0} of 10) | "
          f"{len(sim_processes(str(tmp_path)))} left")  # fmt: skip
    assert code == 1, live.output[-3000:]
    requests_1 = sweep.sweep_dir / "1" / "requests.parquet"
    assert error == f"cannot write {requests_1}: [Errno 28] No space left on device"
    assert lines == [f"[sweeper] job 1 FAILED: {error}"]
    assert "Traceback" not in live.output
    assert full["sweeper"]["status"] == "FAILED" and full["completed"] == 300
    assert "requests.parquet" not in left_in_1
    assert not [n for n in left_in_1 if n.startswith(".") and n != ".hydra"], "temp files left"
    # the jobs before and after are whole
    assert first["sweeper"]["status"] == "FINISHED" and records_0 == 10
    assert "requests.parquet" in job_0_files
    assert after["sweeper"]["status"] == "FINISHED" and after["completed"] == 10
    runs = job_runs(sweep)
    assert [runs[i].info.status for i in range(3)] == ["FINISHED", "FAILED", "FINISHED"]
    assert runs[1].data.tags["sweeper.error"] == error
    assert sweep_counts(sweep) == ("3", "1")
    assert not sim_processes(str(tmp_path))


def test_read_only_job_dir_fails_that_job_and_the_sweep_goes_on(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    job_1 = sweep.sweep_dir / "1"
    with LiveRun(sweep, *OVERRIDES) as live:
        wait_for((job_1 / ".hydra" / "config.yaml").exists, 120, "job 1 to start")
        # Hydra has written job 1's config and opened its log: from now on nothing else fits
        with mounted("--bind", str(job_1), str(job_1)):
            subprocess.run(["mount", "-o", "remount,bind,ro", str(job_1)], check=True)
            code = live.wait(240)
            left_in_1 = sorted(p.name for p in job_1.iterdir())
    error_line = next((line for _, line in live.lines if "[sweeper] job 1" in line), "")
    runs = job_runs(sweep)
    assert sorted(runs) == [0, 1, 2], live.output[-3000:]
    error = runs[1].data.tags.get("sweeper.error", "")
    print(f"\nROW unwritable job dir | exit {code}, `{error_line}`, job 2 "
          f"{runs[2].info.status} | {live.first('[sweeper] job 1') or 0:.1f} s to job 1's line | "
          f"job 1: no file written (read-only), {runs[1].data.metrics.get('completed')} completed "
          f"in MLflow; jobs 0, 2 intact | {len(sim_processes(str(tmp_path)))} left")  # fmt: skip
    assert code == 1, live.output[-3000:]
    assert error == f"cannot write {job_1 / 'requests.parquet'}: [Errno 30] Read-only file system"
    assert error_line == f"[sweeper] job 1 FAILED: {error}"
    assert "Traceback" not in live.output
    assert left_in_1 == [".hydra", "cli.log"]  # what Hydra wrote before: nothing is lost
    assert [runs[i].info.status for i in range(3)] == ["FINISHED", "FAILED", "FINISHED"]
    assert runs[1].data.metrics["completed"] == 300
    assert result(sweep, 2)["sweeper"]["status"] == "FINISHED"
    assert sweep_counts(sweep) == ("3", "1")
    assert not sim_processes(str(tmp_path))
