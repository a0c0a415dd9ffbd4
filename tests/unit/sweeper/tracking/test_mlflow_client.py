from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from launchers.process import free_port
from sweeper.schema import TrackingConfig
from sweeper.tracking.mlflow_client import Point, Tracker, TrackingError, numeric_items


def test_numeric_items_flattens_and_drops_non_numbers() -> None:
    data = {"a": 1, "b": "x", "c": True, "d": float("inf"), "sweeper": {"q": 2.5, "e": {"x": 1}}}
    assert dict(numeric_items(data)) == {"a": 1.0, "sweeper.q": 2.5, "sweeper.e.x": 1.0}


def test_parent_child_runs_in_sqlite(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracker = Tracker(TrackingConfig(uri=uri, experiment="t"))
    parent = tracker.start_run("sweep-x", {"sweeper.kind": "sweep"})
    child = tracker.start_run("concurrency=8", {"sweeper.kind": "job"}, parent_id=parent)
    series = [Point("ts.completed", s, float(s)) for s in range(3)]
    tracker.log_job(child, {"concurrency": "8"}, {"output_throughput": 12.5}, series)
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "result.json").write_text("{}")
    tracker.log_artifacts(child, tmp_path / "job")
    tracker.end_run(child, "FINISHED")
    tracker.end_run(parent, "FINISHED")

    client = MlflowClient(uri)
    run = client.get_run(child)
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.params["concurrency"] == "8"
    assert run.data.metrics["output_throughput"] == 12.5
    assert [m.step for m in client.get_metric_history(child, "ts.completed")] == [0, 1, 2]
    assert [a.path for a in client.list_artifacts(child)] == ["result.json"]
    assert run.info.status == "FINISHED"


def test_dead_tracking_server_fails_fast(tmp_path: Path) -> None:
    tracker = Tracker(TrackingConfig(uri=f"http://127.0.0.1:{free_port()}", timeout_s=3))
    t0 = time.monotonic()
    with pytest.raises(TrackingError, match="could not create run"):
        tracker.start_run("x", {})
    assert time.monotonic() - t0 < 15


def test_artifacts_leave_out_server_work_dirs_with_sockets(tmp_path: Path) -> None:
    import socket

    job = tmp_path / "job"
    (job / "servers" / "s0").mkdir(parents=True)
    (job / "result.json").write_text("{}")
    (job / ".hydra").mkdir()
    (job / ".hydra" / "config.yaml").write_text("a: 1\n")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(job / "servers" / "s0" / "zmq.sock"))  # what vLLM leaves in its TMPDIR
    try:
        uri = f"sqlite:///{tmp_path}/mlflow.db"
        tracker = Tracker(TrackingConfig(uri=uri))
        run = tracker.start_run("single", {})
        tracker.log_artifacts(run, job, exclude=frozenset({"servers"}))
    finally:
        sock.close()
    client = MlflowClient(uri)
    assert sorted(a.path for a in client.list_artifacts(run)) == [".hydra", "result.json"]
    assert [a.path for a in client.list_artifacts(run, ".hydra")] == [".hydra/config.yaml"]


def test_a_tracking_server_on_this_host_is_reached_without_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import urllib.request

    from sweeper.tracking.mlflow_client import configure_http

    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a dead proxy
    monkeypatch.setenv("no_proxy", "example.internal")
    monkeypatch.setenv("NO_PROXY", "")  # restored after the test, like the others
    configure_http(10)
    assert os.environ["no_proxy"].split(",")[0] == "example.internal"  # the user's stay first
    # what requests (MLflow's HTTP client) asks: bypass the proxy for these hosts
    assert urllib.request.proxy_bypass_environment("127.0.0.1")
    assert urllib.request.proxy_bypass_environment("localhost")
    assert not urllib.request.proxy_bypass_environment("mlflow.example.com")


def test_params_and_metrics_share_log_batch_calls_within_mlflow_limits() -> None:
    from sweeper.tracking.mlflow_client import BATCH_ENTITIES, BATCH_PARAMS, _batches

    for n_params, n_metrics in ((0, 0), (3, 5), (100, 900), (250, 40), (10, 2500)):
        params, metrics = list(range(n_params)), list(range(n_metrics))
        calls = list(_batches(params, metrics))
        assert [p for c in calls for p in c[0]] == params
        assert [m for c in calls for m in c[1]] == metrics
        assert all(len(p) <= BATCH_PARAMS and len(p) + len(m) <= BATCH_ENTITIES for p, m in calls)
        assert len(calls) == max(-(-n_params // 100), -(-(n_params + n_metrics) // 1000))
