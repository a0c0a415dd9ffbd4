"""The data that flows between datasets, the client, metrics and the job dir.

Datasets produce `RequestSpec`s; the client turns each into a `RequestRecord` (timestamps from
`time.monotonic_ns()` taken at byte arrival); `sweeper.metrics` summarizes records; the job writes
them as a columnar file. All timestamps are absolute monotonic nanoseconds (system-wide on Linux,
so they compare with the simulator's ground truth on the same host).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RequestSpec:
    """One request to send."""

    prompt: str
    # prompt length in tokens (tokenizer count, or the dataset's estimate)
    prompt_len: int
    # max_tokens to ask for; with ignore_eos the exact output length. None = server decides
    output_len: int | None
    # chat messages for chat backends (None = built from `prompt`)
    messages: list[dict[str, Any]] | None = None
    # merged into the request body (response_format, priority, multimodal content, ...)
    extra_body: dict[str, Any] = field(default_factory=dict)
    # labels kept with the record (e.g. {"priority_class": "high"}); never sent
    labels: dict[str, str] = field(default_factory=dict)
    # seconds after the start at which a trace wants it sent (load.schedule=trace); else None
    arrival_s: float | None = None


@dataclass(slots=True)
class TurnSpec:
    """One turn of a session: what the user (or a tool) adds, and the answer asked for.

    The request of turn k is the session's history (system prompt, every earlier turn's
    `messages` and answer) followed by this turn's `messages`. `parallel` > 1 sends that many
    sub-requests on the same history at once (agentic fan-out); the next turn waits for all of
    them and its history holds their answers in order.
    """

    # chat messages this turn appends (user, or tool results); never empty
    messages: list[dict[str, Any]]
    # tokens of those messages (tokenizer count, or the dataset's estimate)
    input_len: int
    # max_tokens of its request(s); None = the server decides
    output_len: int | None
    # the dataset's reference answer (load.sessions.history=reference puts it in the history)
    reference: str = ""
    # sub-requests sent at once on the same history (agentic fan-out)
    parallel: int = 1
    # seconds after the turn before it ended at which a session trace sent it (replay); None =
    # the load's think time
    delay_s: float | None = None


@dataclass(slots=True)
class SessionSpec:
    """A multi-turn conversation or agent run: a shared system prompt, then turns in order."""

    session_id: str
    turns: list[TurnSpec]
    # the system message that starts every request of the session ("" = none)
    system: str = ""
    system_len: int = 0
    # seconds after the start at which a session trace started it (replay); else None
    arrival_s: float | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RequestRecord:
    """What happened to one request."""

    index: int
    request_id: str
    prompt_len: int
    expected_output_len: int | None
    output_len: int = 0
    # the server's prompt token count (usage.prompt_tokens) when it reported one
    server_prompt_len: int | None = None
    success: bool = False
    error: str = ""
    http_status: int | None = None
    # when the load schedule meant to send it (open loop) or it became eligible (closed loop)
    t_scheduled_ns: int = 0
    # when the scheduler actually released it (lateness = dispatch - scheduled); it then waits
    # for a free concurrency slot until t_post_ns
    t_dispatch_ns: int = 0
    # taken just before the request is handed to the HTTP session (aiohttp then builds it)
    t_post_ns: int = 0
    # the request's bytes were handed to the socket: TTFT and E2EL start here, so the client's
    # own send overhead (t_send_ns - t_post_ns) is not in them; t_post_ns if nothing was written
    t_send_ns: int = 0
    # arrival of the first content-bearing SSE event (the role-only chat chunk does not count)
    t_first_token_ns: int = 0
    # arrival of the last content-bearing event (vLLM's latency end); for non-streaming the
    # complete response
    t_end_ns: int = 0
    # arrival time of each content-bearing chunk and the number of tokens it carried
    chunk_times_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    warmup: bool = False
    generated_text: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # True when chunk_tokens came from the server (continuous usage stats), False when each
    # content chunk was assumed to carry one token
    exact_chunk_tokens: bool = False
    # sessions (sweeper.client.sessions): the session and the turn (0-based) this request is;
    # "" / -1 for single-shot requests. `sub` numbers an agentic turn's parallel sub-requests
    session_id: str = ""
    turn: int = -1
    sub: int = 0
    # the server's usage.prompt_tokens_details.cached_tokens (vLLM with
    # --enable-prompt-tokens-details; the simulator likewise) when it reported one
    server_cached_tokens: int | None = None
    # reasoning (chat `reasoning`/`reasoning_content` deltas, or think tags): a reasoning phase
    # was seen; the index in chunk_times_ns of the first answer chunk (-1: none came); the
    # characters of generated_text that are reasoning (answer_of() cuts them off; -1 while
    # reasoning deltas came and no answer yet)
    reasoning: bool = False
    answer_chunk: int = -1
    reasoning_chars: int = 0

    @property
    def ttft_ms(self) -> float:
        return (self.t_first_token_ns - self.t_send_ns) / 1e6

    @property
    def e2el_ms(self) -> float:
        return (self.t_end_ns - self.t_send_ns) / 1e6

    @property
    def queue_ms(self) -> float:
        """Client-side wait for a free concurrency slot (dispatch to the HTTP call)."""
        start = self.t_dispatch_ns or self.t_scheduled_ns
        return max(0, (self.t_post_ns or self.t_send_ns) - start) / 1e6

    @property
    def lateness_ms(self) -> float:
        """How late the scheduler released the request against its planned time."""
        if not self.t_dispatch_ns:
            return 0.0
        return (self.t_dispatch_ns - self.t_scheduled_ns) / 1e6
