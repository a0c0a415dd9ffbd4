"""The simulator's pooling endpoints, in process: bodies shaped like vLLM's, cost through the
engine (prefill of every input), errors as vLLM renders them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from launchers.sim.http_app import build_app
from launchers.sim.pooling import EMBEDDING_DIM
from launchers.sim.profiles import FAST
from launchers.sim.prompt_tokens import PromptTokenizer
from launchers.sim.state import SimState


def call(path: str, body: Any, **params: Any) -> tuple[int, Any, float]:
    async def go() -> tuple[int, Any, float]:
        state = SimState(replace(FAST, **params), "m", "fast", PromptTokenizer())
        async with TestClient(TestServer(build_app(state))) as client:
            t0 = time.monotonic()
            resp = await client.post(path, json=body)
            data = await resp.json()
            return resp.status, data, time.monotonic() - t0

    return asyncio.run(go())


def test_embeddings_one_and_batch() -> None:
    status, data, _ = call("/v1/embeddings", {"model": "m", "input": "a b c"})
    assert status == 200 and data["object"] == "list"
    assert len(data["data"]) == 1 and len(data["data"][0]["embedding"]) == EMBEDDING_DIM
    assert data["usage"]["prompt_tokens"] == 3
    status, data, _ = call("/v1/embeddings", {"input": ["a b", "c d e", "a b"]})
    vecs = [d["embedding"] for d in data["data"]]
    assert [d["index"] for d in data["data"]] == [0, 1, 2]
    assert vecs[0] == vecs[2] != vecs[1]
    assert data["usage"]["total_tokens"] == 7


def test_rerank_and_score() -> None:
    docs = ["x y", "z", "w v u"]
    status, data, _ = call("/rerank", {"query": "q r", "documents": docs})
    assert status == 200
    scores = [r["relevance_score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r["document"]["text"] for r in data["results"]) == sorted(docs)
    assert data["usage"]["total_tokens"] == 3 * 2 + 6
    status, data, _ = call("/v1/score", {"text_1": "q r", "text_2": docs})
    assert status == 200 and [d["index"] for d in data["data"]] == [0, 1, 2]


def test_pooling_cost_is_prefill_time() -> None:
    doc = " ".join(["w"] * 2000)
    *_, fast = call("/v1/embeddings", {"input": "a"}, prefill_ms_per_token=0.2)
    *_, slow = call("/v1/embeddings", {"input": doc}, prefill_ms_per_token=0.2)
    # 2000 tokens at 0.2 ms, within max_num_batched_tokens (one 400 ms step)
    assert slow - fast > 0.3


def test_errors() -> None:
    assert call("/v1/embeddings", {"model": "other", "input": "a"})[0] == 404
    status, data, _ = call("/rerank", {"query": "q"})
    assert status == 400 and data["error"]["param"] == "documents"
    assert call("/v1/embeddings", {"input": []})[0] == 400
