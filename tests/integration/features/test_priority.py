"""+experiment=priority end to end on the simulator: the high class keeps a low p99 TTFT under
overload with priority scheduling, not with FCFS; per-class metrics land in MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, job_metrics, run_ok


def test_priority_preset_protects_the_high_class(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep,
        "+experiment=priority",
        *FAST,
        "num_prompts=60",
        "server.max_num_seqs=4",
        "dataset.input_len=64",
        "dataset.output_len=32",
    )
    fcfs, prio = (r["sweeper"] for r in results)
    for extras in (fcfs, prio):
        assert extras["priority_class.high.completed"] == 12
        assert extras["priority_class.low.completed"] == 48
    high_fcfs = fcfs["priority_class.high.p99_ttft_ms"]
    high_prio = prio["priority_class.high.p99_ttft_ms"]
    low_prio = prio["priority_class.low.p99_ttft_ms"]
    print(
        f"\nsim priority: high-class p99 TTFT fcfs {high_fcfs:.1f} ms, priority "
        f"{high_prio:.1f} ms (low class {low_prio:.1f} ms)"
    )
    assert high_prio < 0.6 * high_fcfs
    assert high_prio < low_prio
    m_fcfs, m_prio = job_metrics(sweep)
    assert m_prio["sweeper.priority_class.high.p99_ttft_ms"] == high_prio
    assert (
        m_fcfs["sweeper.priority_class.low.p99_ttft_ms"] == fcfs["priority_class.low.p99_ttft_ms"]
    )
    frame = pd.read_parquet(sweep.sweep_dir / "1" / "requests.parquet")
    assert (frame["label.priority_class"] == "high").sum() == 12
