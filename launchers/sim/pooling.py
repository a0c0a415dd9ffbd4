"""Pooling endpoints of the simulator: `/v1/embeddings`, `/rerank` (+ `/v1/rerank`,
`/v2/rerank`) and `/score` (+ `/v1/score`), shaped like vLLM's.

Cost: every input is a prefill-only request in the same engine as generation (one pooled
"token" ends it), so pooling shares the token budget, the batch and the KV pool with
everything else and costs `prefill_ms_per_token` per input token. A rerank/score pair is the
query and the document together (a cross-encoder input). Embeddings and scores are
deterministic pseudo-values from the input's tokens (SIMULATED, meaningless).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from launchers.sim.generation import error_response, open_request
from launchers.sim.kv_cache import block_hashes
from launchers.sim.openai_api import ApiError
from launchers.sim.scheduler import SimRequest

if TYPE_CHECKING:
    from launchers.sim.state import SimState

EMBEDDING_DIM = 16


def _texts(body: dict[str, Any], key: str, *, many: bool) -> list[str]:
    value = body.get(key)
    if isinstance(value, str) and (not many or key in ("input", "text_2")):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ApiError(
        400, f"{key}: a string{' or a list of strings' if many else ''} is required.", key
    )


def parse_inputs(body: Any, kind: str, served_model: str) -> tuple[list[str], str | None]:
    """(texts of the pooled inputs, the query for rerank/score) of a request body."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if model is not None and model != served_model:
        raise ApiError(404, f"The model `{model}` does not exist.", "model")
    if kind == "embeddings":
        return _texts(body, "input", many=True), None
    if kind == "rerank":
        query = _texts(body, "query", many=False)[0]
        return [query + "\n" + d for d in _texts(body, "documents", many=True)], query
    query = _texts(body, "text_1", many=False)[0]
    return [query + "\n" + d for d in _texts(body, "text_2", many=True)], query


def _unit(seed: str, i: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def embedding(keys: list[int]) -> list[float]:
    seed = str(hash(tuple(keys)))
    vec = [_unit(seed, i) - 0.5 for i in range(EMBEDDING_DIM)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def response_body(
    kind: str, model: str, texts: list[str], keys: list[list[int]], query: str | None
) -> dict[str, Any]:
    tokens = sum(len(k) for k in keys)
    head: dict[str, Any] = {"id": f"{kind}-{uuid.uuid4().hex}", "model": model}
    if kind == "embeddings":
        data = [
            {"index": i, "object": "embedding", "embedding": embedding(k)}
            for i, k in enumerate(keys)
        ]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {**head, "object": "list", "created": int(time.time()), "data": data, "usage": usage}
    scores = [_unit(str(hash(tuple(k))), 0) for k in keys]
    if kind == "score":
        data = [{"index": i, "object": "score", "score": s} for i, s in enumerate(scores)]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {**head, "object": "list", "created": int(time.time()), "data": data, "usage": usage}
    assert query is not None
    docs = [t[len(query) + 1 :] for t in texts]
    results = [
        {"index": i, "document": {"text": docs[i]}, "relevance_score": scores[i]}
        for i in sorted(range(len(docs)), key=lambda i: -scores[i])
    ]
    return {**head, "usage": {"total_tokens": tokens}, "results": results}


async def _pooled(state: SimState, req: SimRequest) -> None:
    loop = asyncio.get_running_loop()
    while not req.done and not state.stopping:
        req.waiter = loop.create_future()
        try:
            await req.waiter
        finally:
            req.waiter = None


async def handle_pooling(request: web.Request, kind: str) -> web.Response:
    state, truth = open_request(request)
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(truth, ApiError(400, "The request body is not valid JSON."))
    try:
        texts, query = parse_inputs(body, kind, state.model_name)
        keys = [state.tokenizer.keys(t) for t in texts]
        for k in keys:
            if len(k) >= state.params.max_model_len:
                raise ApiError(
                    400,
                    f"This model's maximum context length is {state.params.max_model_len} "
                    f"tokens. However, an input has {len(k)} tokens.",
                )
    except ApiError as error:
        return error_response(truth, error)
    truth.prompt_tokens = sum(len(k) for k in keys)
    size = state.params.block_size
    reqs = [
        SimRequest(
            request_id=f"{truth.request_id}/{i}",
            prompt_len=len(k),
            target_output=1,
            final_reason="stop",
            arrival_ns=truth.arrival_ns,
            block_hashes=block_hashes(k, size) if state.params.enable_prefix_caching else [],
            wake_every=1,
        )
        for i, k in enumerate(keys)
    ]
    for req in reqs:
        state.engine.add(req)
    try:
        await asyncio.gather(*(_pooled(state, r) for r in reqs))
    finally:
        for req in reqs:
            if not req.done:
                state.engine.abort(req)
    truth.first_token_ns = max(r.first_token_ns for r in reqs)
    truth.cached_tokens = sum(r.cached_tokens for r in reqs)
    truth.finish_reason = "stop" if all(r.finish_reason == "stop" for r in reqs) else "abort"
    truth.finish_ns = time.monotonic_ns()
    if truth.finish_reason != "stop":
        truth.error = "server stopping"
        return web.json_response(ApiError(500, "server stopping").body(), status=500)
    return web.json_response(response_body(kind, state.model_name, texts, keys, query))


def add_routes(app: web.Application) -> None:
    def route(kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return await handle_pooling(request, kind)

        return handler

    app.router.add_post("/v1/embeddings", route("embeddings"))
    for path in ("/rerank", "/v1/rerank", "/v2/rerank"):
        app.router.add_post(path, route("rerank"))
    for path in ("/score", "/v1/score"):
        app.router.add_post(path, route("score"))
