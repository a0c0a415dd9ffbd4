"""The MLflow UI opens sweeper's experiment on its runs (not MLflow 3's GenAI traces view):
a real `mlflow server`, runs logged by sweeper's Tracker, headless Chromium reading the DOM."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from sweeper.schema import TrackingConfig
from sweeper.tracking.mlflow_client import (
    CUSTOM_MODEL_DEVELOPMENT,
    EXPERIMENT_KIND,
    Tracker,
    experiment_url,
)
from tests.helpers.mlflow_server import mlflow_server
from tests.integration.analysis.chromium_page import chromium_binary, load_page

TEXT_JS = "JSON.stringify(document.body.innerText)"


def test_experiment_opens_on_the_sweep_run_table(tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium not installed: bash scripts/setup-chromium.sh")
    with mlflow_server(tmp_path / "mlflow") as uri:
        tracker = Tracker(TrackingConfig(uri=uri, experiment="ui-check"))
        parent = tracker.start_run("sweep-2026-12-02_01-00-00", {"sweeper.kind": "sweep"})
        for conc in (1, 4, 16):
            run_id = tracker.start_run(f"concurrency={conc}", {"sweeper.kind": "job"}, parent)
            tracker.log_job(run_id, {"concurrency": str(conc)}, {"output_throughput": 10.0 * conc})
            tracker.end_run(run_id, "FINISHED")
        tracker.end_run(parent, "FINISHED")
        exp_id = tracker.experiment_id()
        tags = MlflowClient(uri).get_experiment(exp_id).tags
        assert tags[EXPERIMENT_KIND] == CUSTOM_MODEL_DEVELOPMENT
        url = experiment_url(uri, exp_id)
        text = load_page(binary, url, TEXT_JS, settle_s=8.0).value
    # the runs table: its header, the sweep's parent run, the four runs it matched
    assert "Run Name" in text and "sweep-2026-12-02_01-00-00" in text
    assert "4 matching runs" in text
    # not the GenAI overview (traces, token usage)
    assert "Token Usage" not in text and "Tokens per Trace" not in text
