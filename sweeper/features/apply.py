"""Request decorators applied after sampling, before any server starts: priority classes and
structured-output constraints (`dataset.priority`, `dataset.structured_output`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.tokenizer import count_tokens
from sweeper.features.config import PriorityConfig, StructuredOutputConfig
from sweeper.features.structured import constraint
from sweeper.records import RequestSpec

PRIORITY_LABEL = "priority_class"
STRUCTURED_LABEL = "structured_output"


def decorate(
    dataset: Any, requests: list[RequestSpec], server: Any, tokenizer: Any | None = None
) -> list[RequestSpec]:
    """Attach what `dataset.priority` / `dataset.structured_output` ask for (in place)."""
    add_priority(dataset.priority, requests, dataset.seed, server)
    add_structured(dataset.structured_output, requests, dataset.seed, tokenizer)
    return requests


def check_backend(load: Any, requests: list[RequestSpec]) -> None:
    """Build the first body now, so a backend that cannot send these requests (a pooling
    backend with stream=true, rerank without documents) fails before any server starts."""
    from sweeper.client.backends import get_backend

    if requests:
        get_backend(load.backend)("model", load).body(requests[0])


def sends_priority(cfg: PriorityConfig, server: Any) -> bool:
    """Send the body field? vLLM rejects a non-zero priority unless scheduling_policy=priority."""
    if cfg.send is not None:
        return cfg.send
    if not hasattr(server, "scheduling_policy"):
        return True  # external or command: sweeper cannot know its policy
    return server.scheduling_policy == "priority"


def _pick(share: float, n: int, seed: int, stream: int) -> np.ndarray:
    """Exactly round(share * n) requests, a seeded choice."""
    rng = np.random.default_rng([seed, stream])
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=round(share * n), replace=False)] = True
    return mask


def add_priority(cfg: PriorityConfig, requests: list[RequestSpec], seed: int, server: Any) -> None:
    if not 0.0 <= cfg.high_share <= 1.0:
        raise ConfigError(f"dataset.priority.high_share: must be in [0, 1], got {cfg.high_share}")
    if cfg.high_share == 0.0:
        return
    if cfg.high >= cfg.low:
        raise ConfigError(
            f"dataset.priority.high: must be lower than dataset.priority.low (vLLM serves lower "
            f"values first), got high={cfg.high} low={cfg.low}"
        )
    send = sends_priority(cfg, server)
    for spec, high in zip(requests, _pick(cfg.high_share, len(requests), seed, 2), strict=True):
        spec.labels[PRIORITY_LABEL] = "high" if high else "low"
        if send:
            spec.extra_body["priority"] = cfg.high if high else cfg.low


def add_structured(
    cfg: StructuredOutputConfig, requests: list[RequestSpec], seed: int, tokenizer: Any | None
) -> None:
    c = constraint(cfg)
    if cfg.ratio == 0.0:
        return
    body = c.body(cfg.api)
    text = c.instruction()
    extra_tokens = count_tokens(tokenizer, text)
    for spec, on in zip(requests, _pick(cfg.ratio, len(requests), seed, 3), strict=True):
        spec.labels[STRUCTURED_LABEL] = c.kind if on else "none"
        if not on:
            continue
        spec.extra_body.update(body)
        if cfg.instruction:
            spec.prompt = text + spec.prompt
            spec.prompt_len += extra_tokens
            if spec.messages and isinstance(spec.messages[-1].get("content"), str):
                last = dict(spec.messages[-1])
                last["content"] = text + last["content"]
                spec.messages = [*spec.messages[:-1], last]
