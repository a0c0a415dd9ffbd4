"""Synthetic sweeps written exactly as the job writes them (job dirs, result.json, parquet files,
.hydra/config.yaml), for tests, benchmarks and demos. Numbers come from a toy queueing model:
each simulator profile has a per-token decode cost and a batch capacity; latencies grow with load.
Everything written here is marked `simulated`.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis.row_summary import summarize_requests

PROFILES: dict[str, tuple[float, int]] = {
    # profile → (decode ms per token at batch 1, batch size where decode saturates)
    "fast": (8.0, 32),
    "default": (15.0, 16),
    "slow": (30.0, 8),
}


@dataclass
class SyntheticGrid:
    profiles: list[str] = field(default_factory=lambda: ["fast", "slow"])
    concurrencies: list[int] = field(default_factory=lambda: [1, 8, 32])
    repeats: int = 1
    num_prompts: int = 40
    input_len: int = 128
    output_len: int = 64
    slo_ttft_ms: float | None = 500.0
    slo_tpot_ms: float | None = 50.0
    seed: int = 0
    # scales every latency (e.g. 0.5 = a server twice as fast), for compare tests
    speed_factor: float = 1.0
    with_files: bool = True


def composed_config(grid: SyntheticGrid, profile: str, concurrency: int, repeat: int) -> dict:
    """A composed config shaped like sweeper's RunSpec (resolved)."""
    seed = grid.seed + repeat
    return {
        "concurrency": concurrency,
        "request_rate": math.inf,
        "num_prompts": grid.num_prompts,
        "seed": grid.seed,
        "repeats": grid.repeats,
        "repeat": repeat,
        "run_seed": seed,
        "model": {"name": "sim-model", "path": None, "tokenizer": None, "max_model_len": None},
        "server": {
            "kind": "sim",
            "profile": profile,
            "host": "127.0.0.1",
            "port": None,
            "max_num_seqs": None,
        },
        "dataset": {"name": "random", "input_len": grid.input_len, "output_len": grid.output_len},
        "load": {
            "concurrency": concurrency,
            "request_rate": math.inf,
            "burstiness": 1.0,
            "num_prompts": grid.num_prompts,
            "seed": seed,
            "backend": "openai-completions",
        },
        "tracking": {
            "enabled": False,
            "uri": "sqlite:///outputs/mlflow.db",
            "experiment": "sweeper",
        },
        "slo": {"ttft_ms": grid.slo_ttft_ms, "tpot_ms": grid.slo_tpot_ms, "e2el_ms": None},
        "percentiles": [50.0, 90.0, 99.0],
    }


def simulate_requests(
    grid: SyntheticGrid, profile: str, concurrency: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Closed-loop requests at `concurrency` against the toy model of `profile`."""
    tpot_base, capacity = PROFILES[profile]
    tpot_ms = (
        tpot_base
        * grid.speed_factor
        * (1.0 + max(0, concurrency - capacity) / capacity + 0.02 * concurrency)
    )
    prefill_ms = 0.2 * grid.input_len * grid.speed_factor
    slots = np.zeros(concurrency)
    t0 = 1_000_000_000_000
    rows: list[dict[str, Any]] = []
    for i in range(grid.num_prompts):
        slot = int(np.argmin(slots))
        send = slots[slot]
        queue = prefill_ms * min(concurrency, capacity) / 4 * rng.uniform(0.5, 1.5)
        ttft = prefill_ms + queue
        out_len = grid.output_len
        itl = rng.gamma(8.0, tpot_ms / 8.0, size=out_len - 1)
        e2el = ttft + float(itl.sum())
        slots[slot] = send + e2el
        send_ns = t0 + int(send * 1e6)
        rows.append(
            {
                "index": i,
                "request_id": f"req-{i}",
                "warmup": False,
                "prompt_len": grid.input_len,
                "output_len": out_len,
                "success": True,
                "error": "",
                "ttft_ms": ttft,
                "e2el_ms": e2el,
                "tpot_ms": float(itl.mean()),
                "itl_ms": itl.tolist(),
                "t_send_ns": send_ns,
                "t_first_token_ns": send_ns + int(ttft * 1e6),
                "t_end_ns": send_ns + int(e2el * 1e6),
            }
        )
    return pd.DataFrame(rows)


def server_metrics_frame(requests: pd.DataFrame, capacity: int) -> pd.DataFrame:
    """Scraped /metrics as the job stores them: long format (t_ns, name, labels, value)."""
    start, end = int(requests["t_send_ns"].min()), int(requests["t_end_ns"].max())
    rows: list[dict[str, Any]] = []
    for t in range(start, end + 1, 1_000_000_000):
        live = int(((requests["t_send_ns"] <= t) & (requests["t_end_ns"] > t)).sum())
        running = min(live, capacity)
        values = {
            "vllm:kv_cache_usage_perc": min(1.0, running / capacity),
            "vllm:num_requests_running": float(running),
            "vllm:num_requests_waiting": float(live - running),
            "vllm:num_preemptions_total": float(max(0, live - capacity) // 4),
        }
        for name, value in values.items():
            rows.append({"t_ns": t, "name": name, "labels": "model_name=sim-model", "value": value})
    return pd.DataFrame(rows)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2))


def write_job(
    job_dir: Path, grid: SyntheticGrid, job_num: int, profile: str, concurrency: int, repeat: int
) -> None:
    rng = np.random.default_rng(
        zlib.crc32(f"{grid.seed}/{profile}/{concurrency}/{repeat}".encode())
    )
    (job_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    config = composed_config(grid, profile, concurrency, repeat)
    requests = simulate_requests(grid, profile, concurrency, rng)
    slo = {f"{k}_ms": config["slo"][f"{k}_ms"] for k in ("ttft", "tpot", "e2el")}
    result: dict[str, Any] = summarize_requests(requests, slo, max_concurrency=concurrency)
    result["request_rate"] = "inf"
    overrides = [f"server.profile={profile}", f"concurrency={concurrency}"]
    if grid.repeats > 1:
        overrides.append(f"repeat={repeat}")
    result["sweeper"] = {
        "status": "ok",
        "error": None,
        "job_num": job_num,
        "server_fingerprint": f"fp-{profile}",
        "config_hash": f"cfg-{job_num:04d}",
        "server_reused": concurrency != grid.concurrencies[0],
        "simulated": True,
        "overrides": overrides,
    }
    write_json(job_dir / "result.json", result)
    (job_dir / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if grid.with_files:
        requests.to_parquet(job_dir / "requests.parquet", index=False)
        capacity = PROFILES[profile][1]
        server_metrics_frame(requests, capacity).to_parquet(
            job_dir / "server_metrics.parquet", index=False
        )
        (job_dir / "server.log").write_text(f"simulated server, profile {profile}\n")


def write_sweep(root: Path, grid: SyntheticGrid, when: datetime | None = None) -> Path:
    """Write one sweep dir `<root>/<date>/<time>/<job_num>/...`; returns the sweep dir."""
    when = when or datetime(2026, 11, 21, 6, 0, 0)
    sweep_dir = root / when.strftime("%Y-%m-%d") / when.strftime("%H-%M-%S")
    job_num = 0
    for profile in grid.profiles:
        for concurrency in grid.concurrencies:
            for repeat in range(grid.repeats):
                write_job(sweep_dir / str(job_num), grid, job_num, profile, concurrency, repeat)
                job_num += 1
    return sweep_dir
