"""Shared checks of the feature presets: job results and their MLflow child runs."""

from __future__ import annotations

from typing import Any

from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep

FAST = ("server.profile=fast", "load.progress=false", "print_result=false")


def run_ok(sweep: Sweep, *overrides: str) -> list[dict[str, Any]]:
    proc = sweep.run("-m", *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sweep.results()
    for r in results:
        assert r["failed"] == 0, r["sweeper"].get("errors_by_reason")
    return results


def job_runs(sweep: Sweep) -> list[Any]:
    """The sweep's job runs in MLflow, in job order."""
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = [
        r
        for r in client.search_runs([exp.experiment_id])
        if r.data.tags.get("sweeper.kind") == "job"
    ]
    return sorted(runs, key=lambda r: int(r.data.tags["sweeper.job_num"]))


def job_metrics(sweep: Sweep) -> list[dict[str, float]]:
    """Metrics of each FINISHED job run, in job order."""
    runs = job_runs(sweep)
    assert all(r.info.status == "FINISHED" for r in runs)
    return [r.data.metrics for r in runs]


def params_of(sweep: Sweep) -> list[dict[str, str]]:
    return [r.data.params for r in job_runs(sweep)]
