"""Pooling backends (not streaming): `/v1/embeddings`, `/rerank` and `/score`.

A response is one JSON body; TTFT = E2EL = its arrival; no output tokens. The inputs are the
spec's prompt as query plus the spec's `documents` (rerank, score; dataset=rerank puts them in
`extra_body`); embeddings embed the prompt, or the query and its documents as one batch.
Throughput in inputs/s and tokens/s is computed after the run (sweeper.features.metrics).
"""

from __future__ import annotations

from typing import Any

from instruments.errors import ConfigError
from sweeper.client.backends.base import BACKENDS, Backend, StreamError, StreamState, json_loads
from sweeper.client.config import LoadConfig
from sweeper.records import RequestRecord, RequestSpec


class PoolingBackend(Backend):
    # the key of the response that must be present
    result_key = "data"

    def __init__(self, model: str, load: LoadConfig) -> None:
        if load.stream:
            raise ConfigError(
                f"load.stream: the {load.backend} backend does not stream; set load.stream=false"
            )
        super().__init__(model, load)

    def body(self, spec: RequestSpec) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, **self.inputs(spec)}
        if self.load.extra_body:
            body.update(self.load.extra_body)
        body.update({k: v for k, v in spec.extra_body.items() if k != "documents"})
        return body

    def inputs(self, spec: RequestSpec) -> dict[str, Any]:
        raise NotImplementedError

    def on_event(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        data = json_loads(payload)
        if not isinstance(data, dict) or self.result_key not in data:
            err = data.get("error") if isinstance(data, dict) else None
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise StreamError(f"server_error: {msg or f'no {self.result_key!r} in the response'}")
        rec.t_first_token_ns = rec.t_end_ns = now_ns
        rec.chunk_times_ns.append(now_ns)
        rec.chunk_tokens.append(0)
        st.usage_tokens = 0


@BACKENDS.register("openai-embeddings")
class OpenAIEmbeddingsBackend(PoolingBackend):
    default_endpoint = "/v1/embeddings"

    def inputs(self, spec: RequestSpec) -> dict[str, Any]:
        """The prompt; with documents (dataset=rerank) the query and documents as one batch."""
        docs = spec.extra_body.get("documents")
        return {"input": [spec.prompt, *docs] if docs else spec.prompt}


def documents(spec: RequestSpec, backend: str) -> list[str]:
    docs = spec.extra_body.get("documents")
    if not isinstance(docs, list) or not docs:
        raise ConfigError(f"load.backend: {backend} needs documents per request (dataset=rerank)")
    return docs


@BACKENDS.register("rerank")
class RerankBackend(PoolingBackend):
    default_endpoint = "/rerank"
    result_key = "results"

    def inputs(self, spec: RequestSpec) -> dict[str, Any]:
        return {"query": spec.prompt, "documents": documents(spec, "rerank")}


@BACKENDS.register("score")
class ScoreBackend(PoolingBackend):
    default_endpoint = "/score"

    def inputs(self, spec: RequestSpec) -> dict[str, Any]:
        return {"text_1": spec.prompt, "text_2": documents(spec, "score")}
