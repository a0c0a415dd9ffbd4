"""Client CPU per output token and TTFT error against the fake server's truth, sweeper beside
`vllm bench serve` and the floor client in the same run (the server on CPU 0, the client on
CPU 1, the tools alternated, medians of the repeats)."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instruments.http import direct
from sweeper.bench.clients import (
    ClientRun,
    Workload,
    run_floor,
    run_sweeper,
    run_vllm,
    vllm_available,
)
from sweeper.bench.procs import background, cpu_between, cpu_samples, free_port, pinned

SERVER_CPU, CLIENT_CPU = 0, 1

# the workloads; `quick` shrinks the counts
WORKLOADS = {
    "a": Workload("a", requests=2000, output_len=256, concurrency=256, ttft_ms=0, itl_ms=0),
    "b": Workload("b", requests=500, output_len=64, concurrency=64, ttft_ms=50, itl_ms=5),
    "idle": Workload("idle", requests=60, output_len=16, concurrency=1, ttft_ms=0, itl_ms=5),
}
QUICK = {"a": (200, 64), "b": (64, 16), "idle": (10, 1)}


def workload(name: str, quick: bool) -> Workload:
    w = WORKLOADS[name]
    if not quick:
        return w
    requests, concurrency = QUICK[name]
    return Workload(w.name, requests, w.output_len, concurrency, w.ttft_ms, w.itl_ms)


@dataclass
class Truth:
    # request id -> [read_ns, first_write_ns, last_write_ns, tokens]
    requests: dict[str, list[int]]
    # the last time a client connection closed (after the run's last response was read)
    last_close_ns: int


def truth_of(url: str) -> Truth:
    with direct.open(url + "/bench/truth", timeout=30) as resp:
        data = json.loads(resp.read())
    return Truth(data["requests"], int(data["last_close_ns"]))


def figures_of(run: ClientRun, truth: Truth, w: Workload,
               server_cpu: list[tuple[int, int]]) -> dict[str, float]:  # fmt: skip
    """CPU µs per output token while the run was on (the first request read by the server ->
    the client closed its connections) and all included (-> the client's exit), the share of a
    core in flight (the client's and the server's: a server near 100 % sets the pace, and a
    client that reads as bytes arrive then spends its core on ever smaller reads), and TTFT
    error (client first-token stamp - the server's first write)."""
    by_id = truth.requests
    rows = [by_id[rid] for rid in run.stamps if rid in by_id]
    if len(rows) != w.requests:
        raise RuntimeError(f"{run.tool}: {len(rows)} of {w.requests} requests reached the server")
    first_read = min(r[0] for r in rows)
    run_end = max(truth.last_close_ns, max(r[2] for r in rows))
    tokens = sum(r[3] for r in rows)
    errors_ms = [
        (first - by_id[rid][1]) / 1e6 for rid, (_, first) in run.stamps.items() if rid in by_id
    ]
    done = run.finished
    in_flight_cpu = done.cpu_between(first_read, run_end)
    in_flight_ns = max(run_end - first_read, 1)
    return {
        "cpu_us_per_token": in_flight_cpu / 1e3 / tokens,
        "cpu_us_per_token_to_exit": done.cpu_between(first_read) / 1e3 / tokens,
        "core_share_pct": 100 * in_flight_cpu / in_flight_ns,
        "server_core_share_pct": 100 * cpu_between(server_cpu, first_read, run_end) / in_flight_ns,
        "ttft_err_p50_ms": float(np.percentile(errors_ms, 50)),
        "ttft_err_p99_ms": float(np.percentile(errors_ms, 99)),
    }


def measure(w: Workload, repeats: int, workdir: Path, with_vllm: bool,
            log: Callable[[str], None]) -> dict[str, dict[str, float]]:  # fmt: skip
    """{tool: median figures over `repeats`} for workload `w`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = pinned(SERVER_CPU, [sys.executable, "-m", "sweeper.bench.fake_server",
                               "--port", str(port), "--ttft-ms", str(w.ttft_ms),
                               "--itl-ms", str(w.itl_ms)])  # fmt: skip
    tools = ["sweeper", "floor"] + (["vllm"] if with_vllm and vllm_available() else [])
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    workdir.mkdir(parents=True, exist_ok=True)
    with background(argv, url + "/health", workdir / "server.log") as server:
        for repeat in range(repeats):
            order = tools if repeat % 2 == 0 else tools[::-1]
            for tool in order:
                folder = workdir / f"{tool}-{repeat}"
                folder.mkdir()
                truth_of(url)  # drop what earlier runs left
                with cpu_samples(server.pid) as server_cpu:
                    if tool == "sweeper":
                        run = run_sweeper(url, w, folder, CLIENT_CPU)
                    elif tool == "floor":
                        run = run_floor(url, w, folder, CLIENT_CPU)
                    else:
                        run = run_vllm(url, w, folder, CLIENT_CPU, f"{w.name}{repeat}")
                figures = figures_of(run, truth_of(url), w, server_cpu)
                log(f"  {w.name} {tool} run {repeat + 1}: " + ", ".join(
                    f"{k}={v:.3g}" for k, v in figures.items()))  # fmt: skip
                runs[tool].append(figures)
    return {
        tool: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for tool, rows in runs.items()
    }
