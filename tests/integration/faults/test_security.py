"""Secrets and exposure: an API key from the environment is sent but never stored or logged;
started servers listen on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import fields
from pathlib import Path

from mlflow.tracking import MlflowClient

from launchers.config import ModelConfig, ServerConfig
from launchers.kinds.command import CommandServerConfig
from launchers.kinds.sim import SimKind, SimServerConfig
from launchers.kinds.vllm import VllmServerConfig
from tests.helpers.cli import Sweep
from tests.helpers.processes import run_captured
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import job_dirs, read_result

KEY_ENV = "SWEEPER_FAULT_API_KEY"


def files_containing(root: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]


def test_api_key_from_env_is_sent_but_stored_nowhere(tmp_path: Path, fault_row: RecordRow) -> None:
    key = f"sk-fault-{uuid.uuid4().hex}"
    sweep = Sweep(tmp_path)
    argv = [sys.executable, "-m", "tests.helpers.bad_sse_server", "{port}", "--modes", "good"]
    argv += ["--require-key-env", KEY_ENV, "--argv-out", "{workdir}/argv.json"]
    env = {**os.environ, KEY_ENV: key, "PYTHONUNBUFFERED": "1"}
    env.pop("SWEEPER_SWEEP_RUN_ID", None)
    args = sweep.args(
        "-m", "concurrency=1,2", "num_prompts=4", "dataset.output_len=4",
        "server=command", "server.argv=[" + ",".join(f"'{a}'" for a in argv) + "]",
        f"load.api_key_env={KEY_ENV}",
        # a user handing the key to the server through its environment, by interpolation
        f"+server.env.HF_TOKEN=${{oc.env:{KEY_ENV}}}",
    )  # fmt: skip
    proc = run_captured(args, env=env, timeout=180)
    results = [read_result(d) for d in job_dirs(sweep.sweep_dir)]
    leaked = files_containing(tmp_path, key.encode())
    in_output = key in proc.stdout + proc.stderr
    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    in_runs = [
        r.info.run_id
        for r in runs
        if key in repr((r.data.params, r.data.tags, r.data.metrics, r.info.run_name))
    ]
    artifacts = tmp_path / "mlartifacts"
    n_artifacts = sum(1 for p in artifacts.rglob("*") if p.is_file())
    fault_row(
        "api_key",
        f"server got the key ({[r['completed'] for r in results]} of 4 completed, it answers 401 "
        f"without); key found in {len(leaked)} files of the store/artifacts ({n_artifacts} "
        f"artifact files)/job dirs/sweep report ({(sweep.sweep_dir / 'report').is_dir()}), in "
        f"MLflow runs: {len(in_runs)}, in the output: {in_output}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [r["completed"] for r in results] == [4, 4], "the key was not sent"
    assert not leaked, leaked
    assert not in_runs and not in_output
    # the search looked where it matters: the store holds params, artifacts were logged
    assert files_containing(tmp_path, KEY_ENV.encode()), "load.api_key_env param not found"
    assert n_artifacts >= 2 * 3 and len(runs) == 3


def test_servers_bind_loopback_by_default(tmp_path: Path, fault_row: RecordRow) -> None:
    kinds = [ServerConfig, SimServerConfig, CommandServerConfig, VllmServerConfig]
    defaults = {k.__name__: next(f.default for f in fields(k) if f.name == "host") for k in kinds}
    argv = SimKind().plan(ModelConfig(), SimServerConfig(), 8000, tmp_path).argv
    host = argv[argv.index("--host") + 1]
    fault_row(
        "bind", f"default host of every server kind: {set(defaults.values())}; sim --host {host}"
    )
    assert set(defaults.values()) == {"127.0.0.1"}
    assert host == "127.0.0.1"
