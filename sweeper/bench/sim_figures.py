"""The README's figures measured on the simulator (fast profile, on CPU 0; the client on CPU 1):
client fidelity against the simulator's ground truth at concurrency 1, 64 and 256, Poisson rate
accuracy at 50 and 200 req/s, the simulator's step lateness at 2,000 streams, and the
cross-check with `vllm bench serve` (median TTFT and output throughput of both tools)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from instruments.http import direct
from sweeper.bench.clients import MODEL, Workload, run_sweeper, run_vllm, vllm_available
from sweeper.bench.procs import background, free_port, pinned
from sweeper.bench.report import Figure

SIM_CPU, CLIENT_CPU = 0, 1
Log = Callable[[str], None]


@contextlib.contextmanager
def sim(workdir: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = pinned(SIM_CPU, [sys.executable, "-m", "launchers.sim", "--port", str(port),
                            "--profile", "fast", "--served-model-name", MODEL, *extra])  # fmt: skip
    with background(argv, url + "/health", workdir / f"sim-{port}.log"):
        yield url


@contextlib.contextmanager
def on_cpu(cpu: int) -> Iterator[None]:
    """This process (the in-process client) on one CPU for the block."""
    before = os.sched_getaffinity(0)
    if len(before) > 1 and cpu in before:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def get_json(url: str) -> Any:
    with direct.open(url, timeout=60) as resp:
        return json.loads(resp.read())


def _client_run(url: str, num: int, concurrency: int | None, output_len: int, **load: Any) -> Any:
    from sweeper.client.config import LoadConfig
    from sweeper.client.runner import run_benchmark
    from sweeper.datasets import sample
    from sweeper.datasets.kinds.random import RandomDatasetConfig

    specs = sample(RandomDatasetConfig(input_len=128, output_len=output_len, seed=1), num, None)
    config = LoadConfig(concurrency=concurrency, num_prompts=num, progress=False, **load)
    with on_cpu(CLIENT_CPU):
        return asyncio.run(run_benchmark(url, MODEL, specs, config))


def fidelity(url: str, concurrency: int, num: int) -> float:
    """p99 of |client TTFT - the simulator's TTFT| in ms."""
    run = _client_run(url, num, concurrency, 64)
    truth = {row["request_id"]: row for row in get_json(url + "/sim/requests")}
    errors = []
    for r in run.records:
        t = truth.get(r.request_id)
        if r.success and t is not None and t["first_chunk_ns"]:
            true_ttft = t["first_chunk_ns"] - t["arrival_ns"]
            errors.append(abs((r.t_first_token_ns - r.t_send_ns) - true_ttft) / 1e6)
    if len(errors) != num:
        raise RuntimeError(f"fidelity c={concurrency}: {len(errors)} of {num} matched the truth")
    return float(np.percentile(errors, 99))


def rate_error_pct(url: str, rate: float, num: int) -> float:
    from sweeper.metrics import summarize
    from sweeper.schema import SloConfig

    run = _client_run(url, num, None, 16, request_rate=rate, seed=11)
    extra = summarize(run, SloConfig(), [50, 99])["sweeper"]
    return abs(float(extra["send_rate_error_pct"]))


def figures(workdir: Path, quick: bool, log: Log) -> list[Figure]:
    out: list[Figure] = []
    counts = {1: 20, 64: 128, 256: 256} if quick else {1: 200, 64: 1280, 256: 2048}
    with sim(workdir) as url:
        _client_run(url, 16, 4, 16)  # imports and connections out of the figures
        for concurrency, num in counts.items():
            p99 = fidelity(url, concurrency, num)
            log(f"  fidelity c={concurrency}: TTFT |error| p99 {p99:.3f} ms")
            out.append(
                Figure(
                    f"fidelity_c{concurrency}_ttft_p99_ms",
                    f"sim fidelity, c={concurrency}: |TTFT error| p99",
                    p99,
                    "ms",
                    1.0,
                )
            )
        for rate, num in ((50.0, 1000), (200.0, 2000)):  # 20 and 10 s of sending
            err = rate_error_pct(url, rate, 200 if quick else num)
            log(f"  rate {rate:g}/s: send rate error {err:.3f} %")
            label = f"Poisson {rate:g} req/s: send rate error"
            out.append(Figure(f"rate_{rate:g}_error_pct", label, err, "%", 1.0))
        out += crosscheck(url, workdir, quick, log)
    out.append(lateness(workdir, 200 if quick else 2000, 0.5 if quick else 3.0, log))
    return out


def lateness(workdir: Path, streams: int, burst_s: float, log: Log) -> Figure:
    """Step lateness p99 with `streams` running at once, after the arrival burst (the first
    `burst_s`: 2,000 prefills at once are late by design, as the old benchmark reported apart)."""
    with sim(workdir, "--max-num-seqs", str(max(streams, 256))) as url:
        reset = threading.Timer(burst_s, _post, (url + "/sim/stats/reset",))
        reset.start()
        try:
            _client_run(url, streams, streams, 128 if streams < 1000 else 256)
        finally:
            reset.cancel()
        late = float(get_json(url + "/sim/stats")["lateness_ms"]["p99"])
    log(f"  simulator lateness at {streams} streams after {burst_s:g} s: p99 {late:.3f} ms")
    return Figure("sim_lateness_p99_ms", f"sim step lateness p99, {streams} streams (steady)",
                  late, "ms", 2.0)  # fmt: skip


def _post(url: str) -> None:
    direct.open(url, data=b"", timeout=30).close()


def crosscheck(url: str, workdir: Path, quick: bool, log: Log) -> list[Figure]:
    """Both tools on the simulator at concurrency 16: their median TTFT and throughput."""
    if not vllm_available():
        return []
    w = Workload("crosscheck", 64 if quick else 400, 64, 16, 0, 0, input_len=128)
    ours_dir, theirs_dir = workdir / "cc-sweeper", workdir / "cc-vllm"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    ours = run_sweeper(url, w, ours_dir, CLIENT_CPU).result
    theirs = run_vllm(url, w, theirs_dir, CLIENT_CPU, "cc").result
    gap = theirs["median_ttft_ms"] - ours["median_ttft_ms"]
    ratio = ours["output_throughput"] / theirs["output_throughput"]
    log(f"  crosscheck c=16: median TTFT vllm {theirs['median_ttft_ms']:.2f} ms, sweeper "
        f"{ours['median_ttft_ms']:.2f} ms; throughput sweeper/vllm {ratio:.3f}")  # fmt: skip
    return [
        Figure("crosscheck_ttft_gap_ms", "sim c=16: median TTFT, vllm bench serve − sweeper",
               gap, "ms"),
        Figure("crosscheck_throughput_ratio", "sim c=16: output tok/s, sweeper / vllm bench serve",
               ratio, "×"),
    ]  # fmt: skip
