"""Push job dirs into MLflow, per the tracking contract: `python -m analysis sync SWEEP_DIR...`.

Jobs whose dir already has a run (tag `sweeper.job_dir`) are skipped, so sync can run again
safely. The sweep's parent run is found by tag `sweeper.sweep_dir`, or created.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from analysis.frame import as_bool, normalize_status, overrides_text, result_metrics
from analysis.load_dirs import job_dirs, read_config_params, read_result, sweep_name_for_dir
from analysis.load_mlflow import quote, search_all
from sweeper.tracking.mlflow_client import EXPERIMENT_TAGS, metric_key
from sweeper.tracking.step_metrics import server_points

BATCH = 900  # MLflow's log_batch takes at most 1000 metrics / 100 params per call
PARAM_BATCH = 100
ARTIFACT_FILES = ("result.json", "requests.parquet", "server_metrics.parquet", "server.log")


@dataclass
class SyncResult:
    created: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def artifact_location(tracking_uri: str) -> str | None:
    """SQLite stores keep artifacts beside the database file, as sweeper's tracking does
    (MLflow's default, ./mlruns, would land in whatever dir sync runs from)."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        return (db.parent / "mlartifacts").as_uri()
    return None


def ensure_experiment(client: MlflowClient, experiment: str) -> str:
    exp = client.get_experiment_by_name(experiment)
    if exp is not None:
        return exp.experiment_id
    return client.create_experiment(
        experiment,
        artifact_location=artifact_location(str(client.tracking_uri)),
        tags=EXPERIMENT_TAGS,  # as sweeper's own experiments: the UI opens on runs
    )


def ensure_sweep_run(client: MlflowClient, exp_id: str, sweep_dir: Path) -> str:
    found = search_all(client, [exp_id], f"tags.`sweeper.sweep_dir` = {quote(str(sweep_dir))}")
    found = [r for r in found if r.data.tags.get("sweeper.kind") == "sweep"]
    if found:
        return found[0].info.run_id
    run = client.create_run(
        exp_id,
        run_name=sweep_name_for_dir(sweep_dir),
        tags={"sweeper.kind": "sweep", "sweeper.sweep_dir": str(sweep_dir)},
    )
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def series_metrics(job_dir: Path, now_ms: int) -> list[Metric]:
    """`server.<name>` step series from server_metrics.parquet, as the job logs them (the
    client's `ts.*` series are not in the job dir, so a synced run lacks them)."""
    path = job_dir / "server_metrics.parquet"
    if not path.is_file():
        return []
    frame = pd.read_parquet(path)
    if frame.empty:
        return []
    return [Metric(metric_key(p.key), p.value, now_ms, p.step) for p in server_points(frame)]


def log_job_dir(
    client: MlflowClient, exp_id: str, sweep_run_id: str, job_dir: Path, artifacts: bool = True
) -> str:
    """One job dir → one child run of `sweep_run_id`; returns the new run id."""
    result = read_result(job_dir)
    extras = result.get("sweeper", {}) if result else {}
    status = normalize_status(extras.get("status") if result else "failed")
    tags = {
        "sweeper.kind": "job",
        "mlflow.parentRunId": sweep_run_id,
        "sweeper.job_num": str(extras.get("job_num", job_dir.name)),
        "sweeper.job_dir": str(job_dir),
        "sweeper.overrides": overrides_text(extras.get("overrides")),
        "sweeper.server_fingerprint": str(extras.get("server_fingerprint") or ""),
        "sweeper.config_hash": str(extras.get("config_hash") or ""),
        "sweeper.server_reused": str(as_bool(extras.get("server_reused", False))).lower(),
        "sweeper.simulated": str(as_bool(extras.get("simulated", False))).lower(),
        "sweeper.synced": "true",
    }
    if status == "FAILED":
        tags["sweeper.error"] = str(extras.get("error") or "result.json missing")
    run = client.create_run(exp_id, run_name=f"job-{tags['sweeper.job_num']}", tags=tags)
    run_id = run.info.run_id
    now_ms = int(time.time() * 1000)
    params = [Param(k, v) for k, v in read_config_params(job_dir).items()]
    metrics = [
        Metric(k, v, now_ms, 0) for k, v in (result_metrics(result) if result else {}).items()
    ]
    metrics += series_metrics(job_dir, now_ms)
    for i in range(0, len(params), PARAM_BATCH):
        client.log_batch(run_id, params=params[i : i + PARAM_BATCH])
    for i in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[i : i + BATCH])
    if artifacts:
        for name in ARTIFACT_FILES:
            if (job_dir / name).is_file():
                client.log_artifact(run_id, str(job_dir / name))
        if (job_dir / ".hydra").is_dir():
            client.log_artifacts(run_id, str(job_dir / ".hydra"), artifact_path=".hydra")
    client.set_terminated(run_id, "FINISHED" if status == "FINISHED" else "FAILED")
    return run_id


def sync_sweep_dirs(
    sweep_dirs: list[Path], tracking_uri: str, experiment: str, artifacts: bool = True
) -> SyncResult:
    """Log every job dir of `sweep_dirs` that has no MLflow run yet."""
    client = MlflowClient(tracking_uri=tracking_uri)
    exp_id = ensure_experiment(client, experiment)
    known = {
        r.data.tags.get("sweeper.job_dir")
        for r in search_all(client, [exp_id], "tags.`sweeper.kind` = 'job'")
    }
    outcome = SyncResult()
    for sweep_dir in sweep_dirs:
        sweep_dir = sweep_dir.resolve()
        pending = [d for d in job_dirs(sweep_dir) if str(d) not in known]
        outcome.skipped += [d for d in job_dirs(sweep_dir) if str(d) in known]
        if not pending:
            continue
        sweep_run_id = ensure_sweep_run(client, exp_id, sweep_dir)
        for job_dir in pending:
            log_job_dir(client, exp_id, sweep_run_id, job_dir, artifacts)
            outcome.created.append(job_dir)
    return outcome
