"""Read sweeps and their jobs from MLflow (`search_runs`), per the tracking contract.

Sweep run: tags `sweeper.kind=sweep`, `sweeper.sweep_dir`; name `sweep-<date>_<time>`.
Job run: tags `sweeper.kind=job`, `mlflow.parentRunId`, `sweeper.job_num`, `sweeper.job_dir`, ...;
params = flattened composed config as strings; metrics = numeric result.json keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from analysis.errors import AnalysisError
from analysis.frame import JobRow, as_bool, build_frame, keep_metric, normalize_status

DEFAULT_TRACKING_URI = "sqlite:///outputs/mlflow.db"
DEFAULT_EXPERIMENT = "sweeper"
PAGE_SIZE = 5000


def client_for(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri)


def experiment_id(client: MlflowClient, experiment: str) -> str:
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise AnalysisError(f"MLflow experiment {experiment!r} not found at {client.tracking_uri}")
    return exp.experiment_id


def search_all(client: MlflowClient, experiment_ids: list[str], filter_string: str) -> list[Run]:
    runs: list[Run] = []
    token: str | None = None
    while True:
        page = client.search_runs(
            experiment_ids,
            filter_string=filter_string,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE_SIZE,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def resolve_sweep_run(client: MlflowClient, source: str, experiment: str) -> Run:
    """A sweep (parent) run by run id, or by run name (the latest of that name)."""
    try:
        run = client.get_run(source)
    except MlflowException:
        run = None
    if run is not None:
        if run.data.tags.get("sweeper.kind") != "sweep":
            raise AnalysisError(f"MLflow run {source} is not a sweep run (tag sweeper.kind=sweep)")
        return run
    exp_id = experiment_id(client, experiment)
    found = search_all(
        client,
        [exp_id],
        f"tags.`sweeper.kind` = 'sweep' and attributes.run_name = {quote(source)}",
    )
    if not found:
        raise AnalysisError(
            f"no sweep run with id or name {source!r} in experiment {experiment!r} "
            f"at {client.tracking_uri}"
        )
    return max(found, key=lambda r: r.info.start_time or 0)


def job_row_from(
    run_id: str,
    status: str,
    tags: Mapping[str, str],
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    sweep_names: Mapping[str, tuple[str, str | None]],
) -> JobRow:
    """One job run (its tags, params and latest metrics) as a JobRow."""
    parent = tags.get("mlflow.parentRunId")
    sweep_name, sweep_dir = sweep_names.get(parent or "", ("", None))
    job_dir = tags.get("sweeper.job_dir")
    if sweep_dir is None and job_dir:
        sweep_dir = str(Path(job_dir).parent)
    return JobRow(
        sweep_name=sweep_name,
        sweep_dir=sweep_dir,
        sweep_run_id=parent,
        run_id=run_id,
        job_num=int(tags.get("sweeper.job_num", "-1")),
        job_dir=job_dir,
        # a job skipped past the knee is KILLED in MLflow, SKIPPED by its tag
        status=normalize_status(tags.get("sweeper.status") or status),
        error=tags.get("sweeper.error") or tags.get("sweeper.skipped_reason", ""),
        overrides=tags.get("sweeper.overrides", ""),
        server_fingerprint=tags.get("sweeper.server_fingerprint", ""),
        config_hash=tags.get("sweeper.config_hash", ""),
        server_reused=as_bool(tags.get("sweeper.server_reused", False)),
        simulated=as_bool(tags.get("sweeper.simulated", False)),
        params=dict(params),
        metrics={k: float(v) for k, v in metrics.items() if keep_metric(k)},
    )


def job_row(run: Run, sweep_names: Mapping[str, tuple[str, str | None]]) -> JobRow:
    return job_row_from(
        run.info.run_id,
        run.info.status,
        run.data.tags,
        run.data.params,
        run.data.metrics,
        sweep_names,
    )


def sweep_identity(run: Run) -> tuple[str, str | None]:
    return run.info.run_name or run.info.run_id, run.data.tags.get("sweeper.sweep_dir")


def load_sweep_runs(client: MlflowClient, sweep: Run) -> pd.DataFrame:
    """All job runs of one sweep run as the runs DataFrame."""
    jobs = search_all(
        client,
        [sweep.info.experiment_id],
        f"tags.`mlflow.parentRunId` = {quote(sweep.info.run_id)}",
    )
    jobs = [r for r in jobs if r.data.tags.get("sweeper.kind", "job") == "job"]
    if not jobs:
        raise AnalysisError(
            f"sweep run {sweep.info.run_name} ({sweep.info.run_id}) has no job runs"
        )
    names = {sweep.info.run_id: sweep_identity(sweep)}
    return build_frame([job_row(r, names) for r in jobs])


def load_experiment_runs(client: MlflowClient, experiment: str) -> pd.DataFrame:
    """Every job run of an experiment (all sweeps) as the runs DataFrame."""
    exp_id = experiment_id(client, experiment)
    sweeps = search_all(client, [exp_id], "tags.`sweeper.kind` = 'sweep'")
    jobs = search_all(client, [exp_id], "tags.`sweeper.kind` = 'job'")
    if not jobs:
        raise AnalysisError(f"MLflow experiment {experiment!r} holds no job runs")
    names = {s.info.run_id: sweep_identity(s) for s in sweeps}
    return build_frame([job_row(r, names) for r in jobs])
