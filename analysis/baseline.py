"""Baselines: a sweep run tagged `sweeper.baseline=NAME` (by `tracking.baseline_tag=NAME` when
it ran, or `python -m analysis tag-baseline SWEEP NAME` later); `compare --baseline NAME B`
compares B with the newest sweep of that tag (CI: the last sweep of main)."""

from __future__ import annotations

from pathlib import Path

from analysis.errors import AnalysisError
from analysis.load_mlflow import client_for, experiment_id, quote, resolve_sweep_run, search_all
from analysis.loader import check_store

BASELINE_TAG = "sweeper.baseline"


def sweep_run_id(source: str, tracking_uri: str, experiment: str) -> str:
    """The MLflow sweep run of a run id, a run name or a sweep dir."""
    client = client_for(tracking_uri)
    path = Path(source)
    if path.is_dir():
        found = search_all(
            client,
            [experiment_id(client, experiment)],
            f"tags.`sweeper.kind` = 'sweep' and tags.`sweeper.sweep_dir` = "
            f"{quote(str(path.resolve()))}",
        )
        if not found:
            raise AnalysisError(f"tag-baseline: no MLflow sweep run for {path} in {experiment!r}")
        return max(found, key=lambda r: r.info.start_time or 0).info.run_id
    return resolve_sweep_run(client, source, experiment).info.run_id


def tag_baseline(source: str, name: str, tracking_uri: str, experiment: str) -> str:
    """Tag the sweep `source` as baseline `name`; its run id."""
    if not name.strip():
        raise AnalysisError("tag-baseline: the baseline NAME is empty")
    check_store(tracking_uri, source)
    run_id = sweep_run_id(source, tracking_uri, experiment)
    client_for(tracking_uri).set_tag(run_id, BASELINE_TAG, name)
    return run_id


def resolve_baseline(name: str, tracking_uri: str, experiment: str) -> str:
    """The run id of the newest sweep tagged baseline `name`."""
    check_store(tracking_uri, f"baseline {name!r}")
    client = client_for(tracking_uri)
    found = search_all(
        client,
        [experiment_id(client, experiment)],
        f"tags.`sweeper.kind` = 'sweep' and tags.`{BASELINE_TAG}` = {quote(name)}",
    )
    if not found:
        raise AnalysisError(
            f"--baseline: no sweep tagged {BASELINE_TAG}={name!r} in experiment {experiment!r}"
        )
    return max(found, key=lambda r: r.info.start_time or 0).info.run_id
