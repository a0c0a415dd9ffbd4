"""Schema of the `load` config group (how requests are sent), with each field's help and limits
and the group's own checks (`LoadConfig.validate`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instruments.errors import ConfigError
from instruments.options import check_limits, option
from sweeper.client.schedules import SCHEDULES
from sweeper.client.session_config import SessionLoadConfig

RAMP_STRATEGIES = ("linear", "exponential")


@dataclass
class GenerateProtocolConfig:
    """The `/generate` protocol of an in-house vLLM wrapper (backend=generate).

    Field paths are dotted paths into the JSON response (or each streamed event), e.g.
    `data.text` or `choices.0.text`.
    """

    system_info: str = option("", "system prompt sent with every request")
    temperature: float = option(0.0, "sampling temperature sent with every request")
    text_path: str = option("text", "path of the answer's text in a response or event")
    cumulative_text: bool = option(
        False, "the text at text_path is the whole answer so far (true) or this event's only"
    )
    output_tokens_path: str | None = option(
        None, "path of the cumulative completion token count; null = count content events"
    )
    finished_path: str | None = option(
        None, "a true value at this path ends the stream (besides [DONE] / connection close)"
    )


@dataclass
class ReasoningConfig:
    """Chat responses' `reasoning` / `reasoning_content` deltas are always reasoning. For
    servers that inline it in the content, `think_end` (a literal, e.g. `</think>`) ends the
    reasoning phase; it begins at `think_start` at the start of the output, or (think_start
    "") at the first token, as with templates that open the tag in the prompt."""

    think_start: str = option("", "literal that opens an inline reasoning phase (e.g. <think>)")
    think_end: str = option("", "literal that closes it (e.g. </think>); empty = no think tags")


@dataclass
class LoadConfig:
    concurrency: int | None = option(
        None,
        "at most this many requests in flight (null = no cap); with request_rate=inf the "
        "closed loop of `vllm bench serve --max-concurrency`",
    )
    request_rate: float = option(
        float("inf"), "open loop: requests per second (inf = all at once, capped by concurrency)"
    )
    burstiness: float = option(
        1.0, "gamma shape of inter-arrival times; 1.0 = Poisson, inf = evenly spaced", gt=0
    )
    ramp_up_strategy: str | None = option(
        None, "ramp the rate from ramp_up_start_rps to ramp_up_end_rps: linear | exponential"
    )
    ramp_up_start_rps: float | None = option(None, "request rate at the start of the ramp")
    ramp_up_end_rps: float | None = option(None, "request rate at the end of the ramp")
    schedule: str = option(
        "rate", "rate: request_rate/burstiness/ramp-up; trace: each request's arrival_s"
    )
    trace_speedup: float = option(1.0, "trace replay speed: arrival_s is divided by this", gt=0)
    num_prompts: int = option(100, "requests of the measured run")
    duration_s: float | None = option(
        None, "run for this many seconds instead of num_prompts requests (prompts are cycled)"
    )
    seed: int = option(0, "seed of the arrival draws")
    backend: str = option(
        "openai-completions", "request backend: openai-completions | openai-chat | generate | …"
    )
    endpoint: str | None = option(None, "path on the server; null = the backend's default")
    stream: bool = option(True, "stream the response")
    continuous_usage_stats: bool = option(
        True, "ask for usage on every chunk (vLLM: continuous_usage_stats) so ITL is per token"
    )
    ignore_eos: bool = option(True, "ask for exactly output_len tokens")
    request_timeout_s: float = option(
        1800.0,
        "seconds a request may take in all, connect to last byte (SSE heartbeats cannot keep "
        "it alive), before it fails as `timeout`; raise it for very long outputs",
        gt=0,
    )
    idle_timeout_s: float | None = option(
        600.0,
        "seconds without a byte from the server (a stall) before a request fails as "
        "`idle_timeout`; null = only request_timeout_s bounds it",
        gt=0,
    )
    max_event_bytes: int = option(
        8 << 20,
        "largest streamed event (SSE event or JSON line) or non-streamed body accepted; a "
        "bigger one fails that request as `event_too_large`",
        ge=1024,
        le=1_000_000_000,
    )
    max_connect_failures: int = option(
        20,
        "stop sending after this many requests in a row got no connection or no response "
        "(the server is gone); unsent requests are left out and the run says why (0 = never)",
        ge=0,
    )
    warmup_requests: int = option(
        0, "requests sent (and awaited) before the measured run; excluded from results"
    )
    warmup_s: float = option(
        0.0, "seconds at the start of the measured schedule whose requests are excluded"
    )
    loop_lag_period_ms: float = option(
        100.0,
        "period of the event-loop lag sampler (how late a sleep of this length wakes up: "
        "p99_loop_lag_ms), ms; each tick costs the loop a wake-up, 0 = off",
        ge=0,
    )
    prewarm_connections: bool = option(
        True, "open the connection pool before the clock starts (TCP set-up stays out of TTFT)"
    )
    extra_body: dict[str, Any] = option(
        help="fields merged into every request body (sampling parameters, ...)",
        default_factory=dict,
    )
    headers: dict[str, str] = option(help="headers of every request", default_factory=dict)
    api_key_env: str | None = option(
        None, "name of the environment variable that holds the API key (never the key itself)"
    )
    generate: GenerateProtocolConfig = option(
        help="the /generate protocol (backend=generate)", default_factory=GenerateProtocolConfig
    )
    workers: int = option(
        1, "client processes for the measured phase (split the schedule / concurrency)", ge=1
    )
    progress: bool = option(True, "show a progress bar")
    sessions: SessionLoadConfig = option(
        help="multi-turn datasets: think time, history, in-flight cap, warmup sessions",
        default_factory=SessionLoadConfig,
    )
    reasoning: ReasoningConfig = option(
        help="how reasoning is told from the answer (chat reasoning fields, or think tags)",
        default_factory=ReasoningConfig,
    )

    def validate(self) -> None:
        """One-line ConfigError naming the bad `load.*` key."""
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError(f"load.concurrency: must be >= 1 or null, got {self.concurrency}")
        if not self.request_rate > 0:
            raise ConfigError(f"load.request_rate: must be > 0 (or inf), got {self.request_rate}")
        check_limits(self, "load.")
        self.sessions.check()
        if self.schedule not in SCHEDULES:
            names = " or ".join(repr(name) for name in SCHEDULES.names())
            raise ConfigError(f"load.schedule: must be {names}, got {self.schedule!r}")
        self._check_length()
        if self.warmup_requests < 0 or self.warmup_s < 0:
            raise ConfigError("load.warmup_requests / load.warmup_s: must be >= 0")
        self._check_ramp()
        if self.workers > 1 and self.concurrency is not None and self.concurrency < self.workers:
            raise ConfigError(
                f"load.workers: {self.workers} workers need concurrency >= workers "
                f"(got {self.concurrency})"
            )

    def _check_length(self) -> None:
        """How long the run is: num_prompts requests, or duration_s seconds of the rate."""
        if self.num_prompts < 1 and self.duration_s is None:
            raise ConfigError(f"load.num_prompts: must be >= 1, got {self.num_prompts}")
        if self.duration_s is None:
            return
        if not self.duration_s > 0:
            raise ConfigError(f"load.duration_s: must be > 0 or null, got {self.duration_s}")
        if self.ramp_up_strategy or self.schedule == "trace":
            what = "ramp_up_strategy" if self.ramp_up_strategy else "schedule=trace"
            raise ConfigError(f"load.duration_s: cannot be combined with load.{what}")

    def _check_ramp(self) -> None:
        if self.ramp_up_strategy is None:
            return
        if self.ramp_up_strategy not in RAMP_STRATEGIES:
            raise ConfigError(
                f"load.ramp_up_strategy: must be one of {RAMP_STRATEGIES} or null, "
                f"got {self.ramp_up_strategy!r}"
            )
        lo, hi = self.ramp_up_start_rps, self.ramp_up_end_rps
        if lo is None or hi is None or not (lo > 0 and hi > 0):
            raise ConfigError(
                "load.ramp_up_start_rps / load.ramp_up_end_rps: both must be > 0 with a ramp-up"
            )
