"""Jobs run by other processes (joblib, submitit) count in the launching process's totals."""

from __future__ import annotations

import json
from pathlib import Path

from sweeper.tracking.sweep_run import SweepRun


def _job(sweep_dir: Path, num: int, status: str) -> None:
    d = sweep_dir / str(num)
    d.mkdir(parents=True)
    (d / "result.json").write_text(json.dumps({"completed": 1, "sweeper": {"status": status}}))


def test_totals_are_read_back_from_job_dirs_of_other_processes(tmp_path: Path) -> None:
    for num, status in enumerate(["FINISHED", "FAILED", "FINISHED"]):
        _job(tmp_path, num, status)
    (tmp_path / "3").mkdir()  # a job that died before writing its result
    sweep = SweepRun(sweep_dir=tmp_path)
    sweep.close()
    assert (sweep.jobs_done, sweep.jobs_failed) == (3, 1)


def test_in_process_totals_win_when_they_saw_more(tmp_path: Path) -> None:
    _job(tmp_path, 0, "FINISHED")
    sweep = SweepRun(sweep_dir=tmp_path)
    sweep.job_finished(ok=True)
    sweep.job_finished(ok=False)  # a config error: no job dir result
    sweep.close()
    assert (sweep.jobs_done, sweep.jobs_failed) == (2, 1)
