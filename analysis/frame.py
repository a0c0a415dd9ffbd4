"""The runs DataFrame: one row per job, the same columns whichever store it came from.

Columns, in order: the identity/status columns of `CORE_COLUMNS`, then `params.<dotted key>`
(cast back to numbers by `analysis.params`), then `metrics.<result.json key>` (float64; sweeper's
numeric extras as `metrics.sweeper.<key>`). Step series (`ts.*`, `server.*`) are not columns;
`analysis.job_files` reads them per job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.params import cast_column
from sweeper.tracking.mlflow_client import metric_key, numeric_items

CORE_COLUMNS: tuple[str, ...] = (
    "sweep_name",
    "sweep_dir",
    "sweep_run_id",
    "run_id",
    "job_num",
    "job_dir",
    "status",
    "error",
    "overrides",
    "server_fingerprint",
    "config_hash",
    "server_reused",
    "simulated",
)
# columns that name where a row was read from; they differ between MLflow and job dirs
SOURCE_COLUMNS: tuple[str, ...] = ("sweep_run_id", "run_id")
# metric name prefixes that are step series, not one value per run
SERIES_PREFIXES: tuple[str, ...] = ("ts.", "server.")
# sweeper extras that are core columns already (not repeated as metrics)
SWEEPER_CORE_KEYS = frozenset(
    {
        "status",
        "error",
        "job_num",
        "server_fingerprint",
        "config_hash",
        "server_reused",
        "simulated",
        "overrides",
    }
)
# result.json booleans kept as 0/1 metrics (sweeper.tracking.job_run.flag_metrics)
FLAG_KEYS: tuple[str, ...] = ("saturated", "stopped_early")
STATUS_ALIASES: Mapping[str, str] = {
    "ok": "FINISHED",
    "finished": "FINISHED",
    "success": "FINISHED",
    "completed": "FINISHED",
    "failed": "FAILED",
    "error": "FAILED",
    "killed": "KILLED",
    "running": "RUNNING",
}


@dataclass
class JobRow:
    """One job as read from a store, before casting."""

    sweep_name: str
    sweep_dir: str | None
    sweep_run_id: str | None
    run_id: str | None
    job_num: int
    job_dir: str | None
    status: str
    error: str = ""
    overrides: str = ""
    server_fingerprint: str = ""
    config_hash: str = ""
    server_reused: bool = False
    simulated: bool = False
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def normalize_status(status: str | None) -> str:
    if not status:
        return "FAILED"
    return STATUS_ALIASES.get(status.lower(), status.upper())


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def overrides_text(value: Any) -> str:
    """Overrides as the `sweeper.overrides` tag writes them: "a=1,b=x"."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def result_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The numeric keys of a result.json, named as the job logs them to MLflow (nested dicts
    flattened with dots, booleans and non-finite values left out)."""
    out = {metric_key(k): v for k, v in numeric_items(result) if keep_metric(metric_key(k))}
    extras = result.get("sweeper")
    if isinstance(extras, Mapping):
        # the saturation flags as the job logs them to MLflow: 0/1 metrics
        for key in FLAG_KEYS:
            if isinstance(extras.get(key), bool):
                out[f"sweeper.{key}"] = float(extras[key])
    return out


def keep_metric(name: str) -> bool:
    if name.startswith(SERIES_PREFIXES):
        return False
    return not (name.startswith("sweeper.") and name.removeprefix("sweeper.") in SWEEPER_CORE_KEYS)


def build_frame(rows: Sequence[JobRow]) -> pd.DataFrame:
    """JobRows → the runs DataFrame, sorted by sweep then job number."""
    rows = sorted(rows, key=lambda r: (r.sweep_name, r.job_num))
    core: dict[str, list[Any]] = {name: [getattr(r, name) for r in rows] for name in CORE_COLUMNS}
    frame = pd.DataFrame(core)
    frame["job_num"] = frame["job_num"].astype("int64")
    frame["server_reused"] = frame["server_reused"].astype(bool)
    frame["simulated"] = frame["simulated"].astype(bool)
    for name in (
        "sweep_name",
        "sweep_dir",
        "sweep_run_id",
        "run_id",
        "job_dir",
        "status",
        "error",
        "overrides",
        "server_fingerprint",
        "config_hash",
    ):
        frame[name] = frame[name].astype(object)
    param_keys = sorted({k for r in rows for k in r.params})
    metric_keys = sorted({k for r in rows for k in r.metrics})
    extra: dict[str, pd.Series] = {}
    for key in param_keys:
        extra[f"params.{key}"] = cast_column(r.params.get(key) for r in rows)
    for key in metric_keys:
        extra[f"metrics.{key}"] = pd.Series(
            [r.metrics.get(key, float("nan")) for r in rows], dtype="float64"
        )
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    return frame


def param_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("params.")]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("metrics.")]
