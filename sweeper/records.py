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


@dataclass(slots=True)
class RequestRecord:
    """What happened to one request."""

    index: int
    request_id: str
    prompt_len: int
    expected_output_len: int | None
    output_len: int = 0
    success: bool = False
    error: str = ""
    http_status: int | None = None
    # when the load schedule meant to send it (open loop) or it became eligible (closed loop)
    t_scheduled_ns: int = 0
    t_send_ns: int = 0
    t_first_token_ns: int = 0
    t_end_ns: int = 0
    # arrival time of each content-bearing chunk and the number of tokens it carried
    chunk_times_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    warmup: bool = False
    generated_text: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def ttft_ms(self) -> float:
        return (self.t_first_token_ns - self.t_send_ns) / 1e6

    @property
    def e2el_ms(self) -> float:
        return (self.t_end_ns - self.t_send_ns) / 1e6

    @property
    def queue_ms(self) -> float:
        """Client-side wait between the scheduled and the actual send time."""
        return max(0, self.t_send_ns - self.t_scheduled_ns) / 1e6
