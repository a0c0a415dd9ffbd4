"""Fault injection on a real simulator process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import aiohttp

from tests.helpers.sim import running_sim
from tests.integration.sim.sse_client import Received, stream

BODY = {"prompt": "a b c d", "max_tokens": 20, "ignore_eos": True, "stream": True}


async def _send(base: str, n: int, body: dict = BODY) -> list[Received]:
    async with aiohttp.ClientSession() as session:
        return await asyncio.gather(
            *(stream(session, base, "/v1/completions", body, f"f-{i}") for i in range(n))
        )


def test_error_rates(tmp_path: Path) -> None:
    args = ("--profile", "fast", "--fail-500-rate", "0.3", "--fail-429-rate", "0.3", "--seed", "1")
    with running_sim(*args, log_dir=tmp_path) as sim:
        got = asyncio.run(_send(sim.base, 200))
        truth = {r["request_id"]: r for r in json.loads(sim.get("/sim/requests")[1])}
    statuses = [g.status for g in got]
    n500, n429, n200 = statuses.count(500), statuses.count(429), statuses.count(200)
    assert n500 + n429 + n200 == 200
    assert 35 < n500 < 85 and 35 < n429 < 85  # 30 % each, seeded
    failed = next(g for g in got if g.status == 429)
    assert json.loads(failed.error)["error"]["type"] == "RateLimitError"
    assert all(g.tokens == 20 for g in got if g.status == 200)
    assert sum(r["fault"] == "http_500" for r in truth.values()) == n500


def test_cut_streams_and_stalls(tmp_path: Path) -> None:
    args = (
        "--profile",
        "fast",
        "--cut-stream-rate",
        "0.5",
        "--stall-rate",
        "1.0",
        "--stall-s",
        "0.3",
    )
    with running_sim(*args, log_dir=tmp_path) as sim:
        t0 = time.monotonic()
        got = asyncio.run(_send(sim.base, 20))
        took = time.monotonic() - t0
        truth = {r["request_id"]: r for r in json.loads(sim.get("/sim/requests")[1])}
        running = sim.get("/metrics")[1].decode()
    cut = [g for g in got if not g.done]
    whole = [g for g in got if g.done]
    assert cut and whole
    for g in cut:
        assert g.tokens < 20
        assert truth[f"f-{got.index(g)}"]["finish_reason"] == "cut"
    # every stream that was not cut stalled once for 0.3 s, then delivered everything
    assert all(g.tokens == 20 for g in whole)
    assert took >= 0.3
    for g in whole:
        gaps = [b - a for a, b in zip(g.chunk_ns, g.chunk_ns[1:], strict=False)]
        assert max(gaps) >= 0.25e9
    # cut requests were aborted in the engine: nothing keeps running
    assert 'vllm:num_requests_running{model_name="sim-model",engine="0"} 0.0' in running


def test_slow_start_answers_503_then_200(tmp_path: Path) -> None:
    with running_sim(
        "--profile", "fast", "--slow-start-s", "1.0", log_dir=tmp_path, wait_ready=False
    ) as sim:
        deadline = time.monotonic() + 10
        codes: list[int] = []
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # not listening yet
                codes.append(sim.get("/health")[0])
            if codes and codes[-1] == 200:
                break
            time.sleep(0.05)
    assert 503 in codes and codes[-1] == 200


def test_crash_after_n_requests(tmp_path: Path) -> None:
    with running_sim("--profile", "fast", "--crash-after", "3", log_dir=tmp_path) as sim:
        ok = asyncio.run(_send(sim.base, 3))
        assert all(g.done for g in ok)

        async def fourth() -> str:
            async with aiohttp.ClientSession() as session:
                try:
                    await stream(session, sim.base, "/v1/completions", BODY, "boom")
                except aiohttp.ClientError as exc:
                    return type(exc).__name__
                return "answered"

        assert asyncio.run(fourth()) != "answered"
        assert sim.proc.wait(5) == 70
    assert "simulated crash after 3 requests" in sim.log.read_text()
