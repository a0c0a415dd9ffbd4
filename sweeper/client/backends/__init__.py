"""Request backends: how a RequestSpec becomes an HTTP body and how response events are read."""

from __future__ import annotations

from instruments.errors import ConfigError
from sweeper.client.backends.base import Backend, StreamState
from sweeper.client.backends.generate import GenerateBackend
from sweeper.client.backends.openai import OpenAIChatBackend, OpenAICompletionsBackend
from sweeper.client.backends.pooling import OpenAIEmbeddingsBackend, RerankBackend, ScoreBackend

BACKENDS: dict[str, type[Backend]] = {
    "openai-completions": OpenAICompletionsBackend,
    "openai-chat": OpenAIChatBackend,
    "generate": GenerateBackend,
    "openai-embeddings": OpenAIEmbeddingsBackend,
    "rerank": RerankBackend,
    "score": ScoreBackend,
}


def register_backend(name: str, backend: type[Backend]) -> None:
    """Plug in a custom protocol (a Backend subclass) under `load.backend=<name>`."""
    BACKENDS[name] = backend


def get_backend(name: str) -> type[Backend]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(
            f"load.backend: unknown backend {name!r} (one of {', '.join(sorted(BACKENDS))})"
        ) from None


__all__ = ["BACKENDS", "Backend", "StreamState", "get_backend", "register_backend"]
