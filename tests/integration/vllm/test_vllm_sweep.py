"""Issue 5's must-shows: sweeps of real vLLM on CPU through `python -m sweeper`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep

pytestmark = pytest.mark.vllm


def vllm_processes(marker: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "vllm" in cmd.lower() and marker in cmd:
            found.append(p)
    return found


def job_runs(sweep: Sweep) -> list:
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    return sorted(
        (r for r in runs if r.data.tags.get("sweeper.kind") == "job"),
        key=lambda r: int(r.data.params["concurrency"]),
    )


def test_concurrency_sweep_one_server_exact_tokens(vllm_python: str, tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    overrides = ["-m", "concurrency=1,4", "server=vllm", "model=tiny-random", "num_prompts=20"]
    proc = sweep.run(*overrides, f"server.executable={vllm_python}", timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sweep.results()
    assert [r["completed"] for r in results] == [20, 20]
    assert [r["failed"] for r in results] == [0, 0]
    # random dataset: 256 in, 128 out per request; ignore_eos makes the output exact
    assert [r["total_output_tokens"] for r in results] == [20 * 128, 20 * 128]
    assert [r["total_input_tokens"] for r in results] == [20 * 256, 20 * 256]
    extras = [r["sweeper"] for r in results]
    assert [e["status"] for e in extras] == ["FINISHED", "FINISHED"]
    assert [e["server_reused"] for e in extras] == [False, True]
    assert [e["simulated"] for e in extras] == [False, False]
    assert len(list((sweep.sweep_dir / "servers").iterdir())) == 1, "exactly one server start"
    for job in ("0", "1"):
        scraped = pd.read_parquet(sweep.sweep_dir / job / "server_metrics.parquet")
        kv = scraped[scraped["name"] == "vllm:kv_cache_usage_perc"]
        assert kv["t_ns"].nunique() >= 2, "the /metrics time series is there"
        log = (sweep.sweep_dir / job / "server.log").read_text()  # this job's part of the log
        assert 'POST /v1/completions HTTP/1.1" 200' in log
    first_log = (sweep.sweep_dir / "0" / "server.log").read_text()
    assert "Application startup complete" in first_log
    assert not psutil.pid_exists(extras[0]["server_pid"])
    assert vllm_processes(str(tmp_path)) == []
    runs = job_runs(sweep)
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert all(r.data.metrics["total_output_tokens"] == 2560 for r in runs)


def test_failing_start_fails_its_job_and_the_sweep_goes_on(
    vllm_python: str, tmp_path: Path
) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "server.dtype=no-such-dtype,float32", "server=vllm", "model=tiny-random",
        "num_prompts=4", f"server.executable={vllm_python}", timeout=540,
    )  # fmt: skip
    results = sweep.results()
    extras = [r["sweeper"] for r in results]
    assert [e["status"] for e in extras] == ["FAILED", "FINISHED"], proc.stderr[-3000:]
    assert "invalid choice: 'no-such-dtype'" in extras[0]["error"]  # vLLM's words, log tail
    assert results[1]["completed"] == 4 and results[1]["total_output_tokens"] == 4 * 128
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    failed = [r for r in runs if r.data.params.get("server.dtype") == "no-such-dtype"]
    assert len(failed) == 1 and failed[0].info.status == "FAILED"
    assert "invalid choice: 'no-such-dtype'" in failed[0].data.tags["sweeper.error"]
    assert vllm_processes(str(tmp_path)) == []
