"""Load + report time for 1,000 runs in a synthetic MLflow store (target: under 10 s).

Prints figures; asserts only that the work was done (no timing asserts).
Run: python -m pytest tests/benchmarks/test_analysis_load_report.py -m benchmark -s
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from analysis.loader import load_experiment, load_sweep
from analysis.report import make_report
from analysis.sync import sync_sweep_dirs
from analysis.synthetic import SyntheticGrid, write_sweep

# 2 profiles × 50 concurrencies × 10 repeats = 1,000 job runs in one sweep
GRID = SyntheticGrid(
    profiles=["fast", "slow"],
    concurrencies=list(range(1, 51)),
    repeats=10,
    num_prompts=20,
    with_files=False,
)


@pytest.mark.benchmark
def test_load_and_report_1000_runs(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    sweep_dir = write_sweep(tmp_path / "sweeps", GRID)
    t1 = time.perf_counter()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    sync_sweep_dirs([sweep_dir], uri, "sweeper", artifacts=False)
    t2 = time.perf_counter()

    sweep = load_sweep("sweep-2026-11-21_06-00-00", tracking_uri=uri)
    t3 = time.perf_counter()
    report = make_report(sweep, tmp_path / "report")
    t4 = time.perf_counter()
    from_dirs = load_sweep(sweep_dir)
    t5 = time.perf_counter()
    everything = load_experiment(uri, "sweeper")
    t6 = time.perf_counter()

    assert len(sweep.runs) == 1000 and len(from_dirs.runs) == 1000 and len(everything) == 1000
    assert len(report.pngs) == 4  # no per-job files in this store: CDF / server have no data
    print(f"\nsetup: write 1000 job dirs {t1 - t0:.1f} s, sync to MLflow {t2 - t1:.1f} s")
    print(f"load sweep from MLflow (1000 runs, {sweep.runs.shape[1]} columns): {t3 - t2:.2f} s")
    print(f"report (4 PNGs + HTML):                 {t4 - t3:.2f} s")
    print(f"load + report:                          {t4 - t2:.2f} s  (target < 10 s)")
    print(f"load sweep from job dirs:               {t5 - t4:.2f} s")
    print(f"load whole experiment from MLflow:      {t6 - t5:.2f} s")
