"""Simulator benchmarks' helpers: CPU placement, a timer-lateness probe and a minimal
closed-loop aiohttp load driver (the real client lives in sweeper/client; the simulator is
started by tests.helpers.sim)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.helpers.processes import Spawned


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30):
        pass


# an idle asyncio loop's timer lateness: the floor any step clock on this machine sits on
_FLOOR_PROBE = """
import asyncio, json, sys, time
async def main(duration_ns, period_ns):
    loop = asyncio.get_running_loop()
    late, done = [], loop.create_future()
    end = time.monotonic_ns() + duration_ns
    deadline = time.monotonic_ns() + period_ns
    def tick():
        nonlocal deadline
        now = time.monotonic_ns()
        late.append(now - deadline)
        if now > end:
            done.set_result(None)
            return
        deadline += period_ns
        loop.call_at(deadline / 1e9, tick)
    loop.call_at(deadline / 1e9, tick)
    await done
    print(json.dumps(late))
asyncio.run(main(int(float(sys.argv[1]) * 1e9), int(float(sys.argv[2]) * 1e6)))
"""


@contextmanager
def timer_floor(duration_s: float, period_ms: float = 5.0) -> Iterator[dict[str, float]]:
    """Measures, in a separate process and while the body runs, how late an idle asyncio loop's
    timers fire on this machine (percentiles in ms, filled in at exit)."""
    argv = [sys.executable, "-c", _FLOOR_PROBE, str(duration_s), str(period_ms)]
    figures: dict[str, float] = {}
    with Spawned(argv, stdout=subprocess.PIPE) as probe:
        try:
            yield figures
        finally:
            out, _ = probe.proc.communicate(timeout=duration_s + 30)
            late = sorted(json.loads(out))
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
                figures[name] = late[min(len(late) - 1, int(q * len(late)))] / 1e6
            figures["max"] = late[-1] / 1e6


def split_cpus() -> tuple[set[int], int] | None:
    """This process's CPUs split for a load generator and a server: all but the last, and the
    last. None on a single-CPU machine."""
    mine = sorted(os.sched_getaffinity(0))
    return (set(mine[:-1]), mine[-1]) if len(mine) >= 2 else None


@contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """Runs the body (and what it starts) on `cpus`; this process's affinity is restored at
    exit."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, mine)


@contextmanager
def cpus_apart() -> Iterator[list[str]]:
    """Pins this process (the load driver, and what it starts later) to all CPUs but the last
    and yields the simulator's `--cpus` for the last one, so the two never wait for each other's
    core; affinity is restored at exit. Yields [] (no pinning) on a single-CPU machine."""
    split = split_cpus()
    if split is None:
        yield []
        return
    with pinned(split[0]):
        yield ["--cpus", str(split[1])]


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


@dataclass
class LoadResult:
    completed: int
    duration_s: float
    output_tokens: int
    ttft_ms: list[float]

    @property
    def output_tok_s(self) -> float:
        return self.output_tokens / self.duration_s

    @property
    def median_ttft_ms(self) -> float:
        return statistics.median(self.ttft_ms) if self.ttft_ms else float("nan")


async def _one(
    session: aiohttp.ClientSession, base: str, body: dict[str, Any]
) -> tuple[float, int]:
    t0 = time.monotonic_ns()
    first = 0
    tokens = 0
    async with session.post(base + "/v1/completions", json=body) as resp:
        resp.raise_for_status()
        # bytes, not lines: the generated text is " tok" per token, counted in place (with the
        # previous read's last 3 bytes, so a token split across reads counts once)
        tail = b""
        async for data in resp.content.iter_any():
            n = (tail + data).count(b" tok")
            tail = data[-3:]
            if n and not first:
                first = time.monotonic_ns()
            tokens += n
    return (first - t0) / 1e6, tokens


async def closed_loop(
    base: str, concurrency: int, num_requests: int, input_len: int, output_len: int
) -> LoadResult:
    """`num_requests` streamed completions, at most `concurrency` in flight."""
    prompt = " ".join(f"w{i % 997}" for i in range(input_len))
    sem = asyncio.Semaphore(concurrency)
    body = {"prompt": prompt, "max_tokens": output_len, "ignore_eos": True, "stream": True}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def run(i: int) -> tuple[float, int]:
            async with sem:
                # distinct prompts so the prefix cache does not flatter the numbers
                return await _one(session, base, {**body, "prompt": f"r{i} {prompt}"})

        t0 = time.monotonic()
        results = await asyncio.gather(*(run(i) for i in range(num_requests)))
        duration = time.monotonic() - t0
    return LoadResult(
        completed=len(results),
        duration_s=duration,
        output_tokens=sum(n for _, n in results),
        ttft_ms=[t for t, _ in results],
    )
