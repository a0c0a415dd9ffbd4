"""Schema of the `load` config group (how requests are sent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GenerateProtocolConfig:
    """The `/generate` protocol of an in-house vLLM wrapper (backend=generate).

    Field paths are dotted paths into the JSON response (or each streamed event), e.g.
    `data.text` or `choices.0.text`.
    """

    system_info: str = ""
    temperature: float = 0.0
    # text of the whole answer so far (cumulative=true) or of this event only
    text_path: str = "text"
    cumulative_text: bool = False
    # completion token count (cumulative); None = count content events
    output_tokens_path: str | None = None
    # a true value at this path ends the stream (besides [DONE] / connection close)
    finished_path: str | None = None


@dataclass
class LoadConfig:
    # at most this many requests in flight (None = no cap). With request_rate=inf this is the
    # closed loop of `vllm bench serve --max-concurrency`
    concurrency: int | None = None
    # open loop: requests per second (inf = send all at once, capped by concurrency)
    request_rate: float = float("inf")
    # gamma shape of inter-arrival times; 1.0 = Poisson, inf = evenly spaced
    burstiness: float = 1.0
    # ramp the rate from ramp_up_start_rps to ramp_up_end_rps over the run: linear | exponential
    ramp_up_strategy: str | None = None
    ramp_up_start_rps: float | None = None
    ramp_up_end_rps: float | None = None
    # rate: request_rate/burstiness/ramp-up; trace: each request's arrival_s (trace dataset)
    schedule: str = "rate"
    # trace replay speed: arrival_s is divided by this
    trace_speedup: float = 1.0
    num_prompts: int = 100
    # run for this many seconds instead of num_prompts requests (prompts are cycled)
    duration_s: float | None = None
    seed: int = 0
    # request backend: openai-completions | openai-chat | generate
    backend: str = "openai-completions"
    # path on the server; None = the backend's default
    endpoint: str | None = None
    stream: bool = True
    # ask the server for usage on every chunk (vLLM: continuous_usage_stats) so ITL is per token
    continuous_usage_stats: bool = True
    # ask for exactly output_len tokens
    ignore_eos: bool = True
    # seconds without a byte from the server before a request counts as failed
    request_timeout_s: float = 600.0
    # requests sent (and awaited) before the measured run; excluded from results
    warmup_requests: int = 0
    # seconds at the start of the measured schedule whose requests are excluded from results
    warmup_s: float = 0.0
    # open the connection pool before the clock starts (TCP set-up stays out of TTFT)
    prewarm_connections: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # name of the environment variable that holds the API key (never the key itself)
    api_key_env: str | None = None
    generate: GenerateProtocolConfig = field(default_factory=GenerateProtocolConfig)
    # client processes for the measured phase (split the schedule / concurrency); 1 = this one
    workers: int = 1
    progress: bool = True
