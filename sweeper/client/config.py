"""Schema of the `load` config group (how requests are sent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadConfig:
    # closed loop: at most this many requests in flight (None = no cap)
    concurrency: int | None = None
    # open loop: requests per second (inf = send all at once, capped by concurrency)
    request_rate: float = float("inf")
    # gamma shape of inter-arrival times; 1.0 = Poisson
    burstiness: float = 1.0
    num_prompts: int = 100
    seed: int = 0
    # request backend: openai-completions | openai-chat | ...
    backend: str = "openai-completions"
    # path on the server; None = the backend's default
    endpoint: str | None = None
    # ask for exactly output_len tokens
    ignore_eos: bool = True
    # seconds without progress before a request counts as failed
    request_timeout_s: float = 600.0
    warmup_requests: int = 0
    extra_body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # name of the environment variable that holds the API key (never the key itself)
    api_key_env: str | None = None
    progress: bool = True
