"""Analysis figures of `python -m sweeper.bench`: write N synthetic job dirs, sync them into a
SQLite MLflow store, load the sweep back and make its report. Prints one JSON line of seconds.

    python scripts/bench_analysis.py WORKDIR N
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from analysis.load_dirs import sweep_name_for_dir
from analysis.loader import load_sweep
from analysis.report import make_report
from analysis.sync import sync_sweep_dirs
from analysis.synthetic import SyntheticGrid, write_sweep


def main() -> None:
    workdir, runs = Path(sys.argv[1]), int(sys.argv[2])
    repeats = max(runs // 100, 1)
    grid = SyntheticGrid(profiles=["fast", "slow"], concurrencies=list(range(1, 51)),
                         repeats=repeats, num_prompts=20, with_files=False)  # fmt: skip
    sweep_dir = write_sweep(workdir / "sweeps", grid)
    uri = f"sqlite:///{workdir}/mlflow.db"
    t0 = time.perf_counter()
    sync_sweep_dirs([sweep_dir], uri, "sweeper", artifacts=False)
    t1 = time.perf_counter()
    sweep = load_sweep(sweep_name_for_dir(sweep_dir), tracking_uri=uri)
    make_report(sweep, workdir / "report")
    t2 = time.perf_counter()
    assert len(sweep.runs) == 100 * repeats, len(sweep.runs)
    print(json.dumps({"sync_s": t1 - t0, "load_report_s": t2 - t1, "runs": 100 * repeats}))


if __name__ == "__main__":
    main()
