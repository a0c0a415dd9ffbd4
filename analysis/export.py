"""`export`: all runs of an experiment (from MLflow, or from sweep dirs) as CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def write_runs(frame: pd.DataFrame, path: Path) -> Path:
    """Write the runs frame; the format follows the suffix (.csv, .parquet)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise AnalysisError(f"{path}: unknown export format (use .csv or .parquet)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
