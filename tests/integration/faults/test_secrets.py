"""Every route a secret takes into a sweep (an environment interpolation in a header, a literal
header, a server environment variable, a key in the request body) is used, and then found
nowhere sweeper writes: job dirs, `.hydra/`, logs, server logs, the MLflow database and artifact
store, the sweeper's output, nor the process table while the server runs."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.helpers.cli import Sweep
from tests.helpers.processes import run_captured
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import cli_env, job_dirs, read_result

ENV_KEY = "SWEEPER_TEST_KEY"
LITERAL = "sk-literal-123"
# what the toy server requires as `Authorization: Bearer $SERVER_KEY`, from its own environment
SERVER_KEY = "SWEEPER_TEST_SERVER_KEY"
SERVER_HF = "SWEEPER_TEST_EXPECTED_HF"


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for needle in needles:
                if needle.encode() in data:
                    found.setdefault(needle, []).append(str(path.relative_to(root)))
    return found


class ProcessTable:
    """Polls every process's command line while the sweep runs (what `ps -ef` shows), but
    sweeper's own: a literal typed on the command line is there (and in the shell's history)
    whatever sweeper does; `${oc.env:…}` keeps it out."""

    def __init__(self) -> None:
        self.lines: set[str] = set()
        self.servers_seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ProcessTable:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            for p in psutil.process_iter(["cmdline"]):
                line = " ".join(p.info["cmdline"] or [])
                if " -m sweeper " not in line:
                    self.lines.add(line)
                self.servers_seen += "tests.helpers.bad_sse_server" in line


def server_argv(require_env: str) -> str:
    """A toy server that answers 401 without the key, behind `sh` that refuses to start it
    unless HF_TOKEN arrived in its environment (both compared with variables, never argv)."""
    serve = f"{sys.executable} -m tests.helpers.bad_sse_server $0 --modes good"
    serve += f" --require-key-env {require_env}"
    script = f'test "$HF_TOKEN" = "${SERVER_HF}" || exit 3; exec {serve}'
    return f"server.argv=[sh,-c,'{script}','{{port}}']"


ROUTES = {
    # `${oc.env:…}` in a header: resolved in the job's config, sent, never recorded
    "env_header": ([f"+load.headers.Authorization=Bearer ${{oc.env:{ENV_KEY}}}"], ENV_KEY),
    # a literal key typed in an override
    "literal_header": ([f"+load.headers.Authorization=Bearer {LITERAL}"], SERVER_KEY),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_secret_routes_reach_the_server_and_no_file(
    route: str, tmp_path: Path, fault_row: RecordRow
) -> None:
    env_key = f"sk-env-{uuid.uuid4().hex}"
    hf_token = f"hf_{uuid.uuid4().hex}"
    body_key = f"body-{uuid.uuid4().hex}"
    overrides, require_env = ROUTES[route]
    sweep = Sweep(tmp_path)
    args = sweep.args(
        "-m", "concurrency=1,2", "num_prompts=4", "dataset.output_len=4", "server=command",
        server_argv(require_env), *overrides,
        f"+server.env.HF_TOKEN={hf_token}", f"+load.extra_body.api_key={body_key}",
    )  # fmt: skip
    env = cli_env({ENV_KEY: env_key, SERVER_KEY: LITERAL, SERVER_HF: hf_token})
    secrets = [env_key, LITERAL, hf_token, body_key]
    with ProcessTable() as table:
        proc = run_captured(args, env=env, timeout=180)
    results = [read_result(d) for d in job_dirs(sweep.sweep_dir)]
    leaked = files_containing(tmp_path, secrets)
    leaked_files = sorted({f for found in leaked.values() for f in found})
    in_ps = [s for s in secrets if any(s in line for line in table.lines)]
    in_output = [s for s in secrets if s in proc.stdout + proc.stderr]
    n_files = sum(1 for p in tmp_path.rglob("*") if p.is_file())
    hydra_copies = list(sweep.sweep_dir.glob("*/.hydra/*.yaml"))
    fault_row(
        "api_key",
        f"{route}: {[r['completed'] for r in results]} of 4 completed per job (401 without the "
        f"key, no server without HF_TOKEN); {len(leaked)} of 4 secrets in {len(leaked_files)} of "
        f"{n_files} files "
        f"(job dirs, {len(hydra_copies)} .hydra copies, logs, server logs, mlflow.db, "
        f"artifacts), in ps: {in_ps} ({table.servers_seen} server sightings), "
        f"in the output: {in_output}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [r["completed"] for r in results] == [4, 4], "the key did not reach the server"
    assert leaked == {}, leaked
    assert in_ps == [] and table.servers_seen > 0
    assert in_output == []
    # the search looked where it matters: params, tags and artifacts were written, redacted
    assert (tmp_path / "mlflow.db").is_file() and len(hydra_copies) == 2 * 3
    assert "Authorization=***" in results[0]["sweeper"]["overrides"]
    assert "HF_TOKEN=***" in (sweep.sweep_dir / "0" / ".hydra" / "overrides.yaml").read_text()
    assert len(list((tmp_path / "mlartifacts").rglob("result.json"))) == 2


def test_missing_server_api_key_env_is_one_line_before_any_start(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    name = f"SWEEPER_UNSET_{uuid.uuid4().hex[:8]}"
    args = sweep.args(
        "server=vllm", f"server.executable={sys.executable}", "model.path=/nonexistent",
        f"server.api_key_env={name}",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != name}
    t0 = time.monotonic()
    proc = run_captured(args, env=cli_env(env), timeout=120)
    print(f"refused in {time.monotonic() - t0:.1f}s: {proc.stderr.strip().splitlines()[-1:]}")
    assert proc.returncode != 0
    assert f"server.api_key_env: environment variable {name} is unset" in proc.stderr


@pytest.mark.vllm
def test_vllm_requires_the_key_from_server_api_key_env_and_the_client_sends_it(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    """server.api_key_env and load.api_key_env name the same variable: vLLM gets it as
    VLLM_API_KEY (not on argv), the client as `Authorization: Bearer`; a job without the
    client's key gets 401 from the same (reused) server."""
    exe = os.environ.get("SWEEPER_VLLM_PYTHON", ".venv-vllm/bin/python")
    key = f"sk-vllm-{uuid.uuid4().hex}"
    name = "SWEEPER_TEST_VLLM_KEY"
    sweep = Sweep(tmp_path)
    args = sweep.args(
        "-m", f"load.api_key_env={name},null", "server=vllm", "model=tiny-random",
        f"server.executable={exe}", f"server.api_key_env={name}", "num_prompts=4",
        "dataset.output_len=4",
    )  # fmt: skip
    with ProcessTable() as table:
        proc = run_captured(args, env=cli_env({name: key}), timeout=540)
    results = [read_result(d) for d in job_dirs(sweep.sweep_dir)]
    leaked = files_containing(tmp_path, [key])
    in_ps = any(key in line for line in table.lines)
    vllm_seen = any("vllm.entrypoints" in line for line in table.lines)
    log = (sweep.sweep_dir / "1" / "server.log").read_text()  # the job without the key
    fault_row(
        "api_key",
        f"vllm: with the client key {results[0]['completed']}/4 completed, without it "
        f"{results[1]['completed']}/4 ({results[1]['sweeper']['status']}); key in files: "
        f"{sorted(leaked)}, in ps: {in_ps}",
    )
    assert [r["completed"] for r in results] == [4, 0], proc.stderr[-3000:]
    assert [r["sweeper"]["status"] for r in results] == ["FINISHED", "FAILED"]
    assert results[1]["sweeper"]["server_reused"], "one server, the key is the server's"
    assert "401 Unauthorized" in log
    assert leaked == {} and not in_ps and vllm_seen
    assert key not in proc.stdout + proc.stderr
