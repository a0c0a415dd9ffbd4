"""Metrics of a run: vLLM bench-serve keys (`summarize`) and per-second series (`time_series`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sweeper.metrics.series import per_second
from sweeper.metrics.summary import summarize

if TYPE_CHECKING:
    import pandas as pd

    from sweeper.client.benchmark_run import BenchmarkRun


def time_series(run: BenchmarkRun) -> pd.DataFrame:
    """Per-second rows (step, sent, completed, failed, output_tokens, in_flight) of the measured
    window, for MLflow step metrics."""
    return per_second(run.measured, run.t_measure_start_ns, run.t_end_ns)


__all__ = ["summarize", "time_series"]
