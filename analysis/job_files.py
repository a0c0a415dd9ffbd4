"""Per-job detail: requests.parquet and the server metric time series, read from the job dir or,
when that dir is gone (another host), from the run's MLflow artifacts / metric history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from analysis.errors import AnalysisError

SERVER_SERIES: tuple[str, ...] = (
    "kv_cache_usage_perc",
    "num_requests_running",
    "num_requests_waiting",
    "num_preemptions",
)

# older vLLM names of the same gauges
ALIASES = {"gpu_cache_usage_perc": "kv_cache_usage_perc"}


@dataclass(frozen=True)
class JobRef:
    """Where one job's files live."""

    job_num: int
    label: str
    job_dir: str | None
    run_id: str | None
    tracking_uri: str | None
    # where artifacts of runs whose job dir is gone are downloaded (the caller removes it)
    download_dir: str | None = None


def metric_name(raw: str) -> str:
    """`vllm:num_preemptions_total` / `server.num_preemptions` → `num_preemptions`."""
    name = raw.removeprefix("server.").removeprefix("vllm:").removesuffix("_total")
    return ALIASES.get(name, name)


def local_file(ref: JobRef, name: str) -> Path | None:
    if ref.job_dir and (Path(ref.job_dir) / name).is_file():
        return Path(ref.job_dir) / name
    if ref.run_id and ref.tracking_uri:
        client = MlflowClient(tracking_uri=ref.tracking_uri)
        try:
            names = {a.path for a in client.list_artifacts(ref.run_id)}
        except Exception:
            return None
        if name in names:
            if ref.download_dir is None:
                return None
            target = Path(ref.download_dir) / ref.run_id
            target.mkdir(parents=True, exist_ok=True)
            return Path(client.download_artifacts(ref.run_id, name, str(target)))
    return None


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:
        raise AnalysisError(f"{path}: unreadable parquet ({exc})") from exc


def load_requests(ref: JobRef) -> pd.DataFrame | None:
    """One row per request (ttft_ms, tpot_ms, e2el_ms, itl, success ...), or None if absent."""
    path = local_file(ref, "requests.parquet")
    return None if path is None else read_parquet(path)


def load_server_series(ref: JobRef) -> pd.DataFrame | None:
    """Server metrics as a wide frame: index = seconds since the first scrape, one column per
    metric of `SERVER_SERIES` present (summed over label sets)."""
    path = local_file(ref, "server_metrics.parquet")
    if path is not None:
        long = read_parquet(path, ["t_ns", "name", "value"])
        if long.empty:
            return None
        long = long.assign(name=long["name"].map(metric_name))
        long = long[long["name"].isin(SERVER_SERIES)]
        start = long["t_ns"].min()
        long = long.assign(t=(long["t_ns"] - start) / 1e9)
        return long.pivot_table(index="t", columns="name", values="value", aggfunc="sum")
    return history_series(ref)


def history_series(ref: JobRef) -> pd.DataFrame | None:
    """`server.<metric>` step series from MLflow (step = second)."""
    if not (ref.run_id and ref.tracking_uri):
        return None
    client = MlflowClient(tracking_uri=ref.tracking_uri)
    columns: dict[str, pd.Series] = {}
    for name in SERVER_SERIES:
        try:
            history = client.get_metric_history(ref.run_id, f"server.{name}")
        except Exception:
            continue
        if history:
            columns[name] = pd.Series({float(m.step): m.value for m in history})
    return pd.DataFrame(columns).sort_index() if columns else None
