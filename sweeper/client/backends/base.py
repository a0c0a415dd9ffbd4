"""The Backend contract and the per-request stream bookkeeping shared by all backends."""

from __future__ import annotations

from typing import Any

try:  # orjson parses a streamed chunk several times faster than json (the client's main cost)
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - orjson is a dependency; json is the fallback
    from json import loads as json_loads  # type: ignore[assignment]

from instruments.registry import Registry
from sweeper.client.config import LoadConfig
from sweeper.records import RequestRecord, RequestSpec

__all__ = ["BACKENDS", "Backend", "StreamError", "StreamState", "dig", "finish", "json_loads",
           "note_content"]  # fmt: skip


class StreamError(Exception):
    """The server reported an error inside an otherwise 200 response (`reason: detail`)."""


class StreamState:
    """What one response has delivered so far (lives only while the request is in flight)."""

    __slots__ = ("all_exact", "done", "parts", "tokens", "usage_tokens")

    def __init__(self) -> None:
        self.parts: list[str] = []
        # cumulative completion tokens reported by the server's per-chunk usage
        self.tokens = 0
        # completion_tokens of the final usage block, when the server sent one
        self.usage_tokens: int | None = None
        self.all_exact = True
        self.done = False


def note_content(
    rec: RequestRecord, st: StreamState, now_ns: int, text: str, cumulative: int | None
) -> None:
    """Record one content event arriving at `now_ns`.

    With `cumulative` (the server's running completion-token count) the chunk's token count is
    exact; without it a chunk with text counts as one token. Chunks that add no token and no text
    (the role-only chat chunk, keep-alives) are not content and do not start TTFT.
    """
    if cumulative is not None:
        n = cumulative - st.tokens
        if n <= 0:
            if text:
                st.parts.append(text)
            return
        st.tokens = cumulative
    else:
        if not text:
            return
        n = 1
        st.all_exact = False
    if text:
        st.parts.append(text)
    if not rec.chunk_times_ns:
        rec.t_first_token_ns = now_ns
    rec.chunk_times_ns.append(now_ns)
    rec.chunk_tokens.append(n)
    rec.t_end_ns = now_ns


def finish(rec: RequestRecord, st: StreamState) -> None:
    """Close a record after the response ended: output length, text, success."""
    wrong = _wrong_types(rec, st)
    if wrong:
        rec.error = rec.error or f"bad_event: {wrong}"
    counted = sum(rec.chunk_tokens)
    rec.output_len = st.usage_tokens if st.usage_tokens is not None else counted
    rec.exact_chunk_tokens = bool(rec.chunk_tokens) and st.all_exact and counted == rec.output_len
    if not rec.chunk_times_ns:
        rec.success = False
        rec.error = rec.error or "empty_response: no content event received"
    elif not rec.error:
        rec.success = True


def _wrong_types(rec: RequestRecord, st: StreamState) -> str:
    """Fields the server sent with the wrong JSON type (checked once a request, not per event):
    they are dropped, and the request fails as a bad event."""
    try:
        rec.generated_text = "".join(st.parts)
    except TypeError:
        st.parts.clear()
        return "a text field is not a string"
    if st.usage_tokens is not None and type(st.usage_tokens) is not int:
        value, st.usage_tokens = st.usage_tokens, None
        return f"usage.completion_tokens is {value!r}, not an integer"
    if rec.server_prompt_len is not None and type(rec.server_prompt_len) is not int:
        value, rec.server_prompt_len = rec.server_prompt_len, None
        return f"usage.prompt_tokens is {value!r}, not an integer"
    return ""


def dig(obj: Any, path: str | None) -> Any:
    """Value at a dotted path (`choices.0.text`); None where any step is missing."""
    if path is None:
        return None
    for step in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(step)
        elif isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        else:
            return None
        if obj is None:
            return None
    return obj


class Backend:
    """Turns specs into bodies and response bytes into record fields. Subclass to add one."""

    default_endpoint = "/v1/completions"

    def __init__(self, model: str, load: LoadConfig) -> None:
        self.model = model
        self.load = load

    def body(self, spec: RequestSpec) -> dict[str, Any]:
        raise NotImplementedError

    def on_event(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        """One streamed event's payload (already split out of the SSE framing)."""
        raise NotImplementedError

    def on_response(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        """The whole body of a non-streaming response; by default parsed like one event."""
        self.on_event(payload, now_ns, rec, st)
        st.done = True

    def merged(self, body: dict[str, Any], spec: RequestSpec) -> dict[str, Any]:
        """Apply load.extra_body then the spec's own extra_body (per-request wins)."""
        if self.load.extra_body:
            body.update(self.load.extra_body)
        if spec.extra_body:
            body.update(spec.extra_body)
        return body


# load.backend -> Backend subclass; each backend module registers its own with the decorator
BACKENDS: Registry[type[Backend]] = Registry("backend", key="load.backend")
