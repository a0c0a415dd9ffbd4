"""OpenAI-compatible `/v1/completions` and `/v1/chat/completions` (vLLM's streaming format).

Reasoning: chat deltas' `reasoning` (vLLM >= 0.10) or `reasoning_content` (older vLLM,
DeepSeek) are reasoning tokens; `content` is the answer. Inline think tags
(`load.reasoning.think_start` / `think_end`, literals) split the text of either backend. Either
way the record's `reasoning`, `answer_chunk` and `reasoning_chars` are set once, at the
transition (sweeper.records); the per-event cost is a field lookup. TTFT stays the first token
of any kind, as vLLM's; sweeper.metrics.reasoning has the split figures.
"""

from __future__ import annotations

from typing import Any

from sweeper.client.backends.base import (
    BACKENDS,
    Backend,
    StreamError,
    StreamState,
    json_loads,
    note_content,
)
from sweeper.records import RequestRecord, RequestSpec


@BACKENDS.register("openai-completions")
class OpenAICompletionsBackend(Backend):
    default_endpoint = "/v1/completions"
    max_tokens_key = "max_tokens"

    def __init__(self, model: str, load: Any) -> None:
        super().__init__(model, load)
        self.think_start = load.reasoning.think_start
        self.think_end = load.reasoning.think_end

    def body(self, spec: RequestSpec) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        body.update(self.prompt_fields(spec))
        if spec.output_len is not None:
            body[self.max_tokens_key] = spec.output_len
        if self.load.stream:
            body["stream"] = True
            options: dict[str, Any] = {"include_usage": True}
            if self.load.continuous_usage_stats:
                options["continuous_usage_stats"] = True
            body["stream_options"] = options
        if self.load.ignore_eos and spec.output_len is not None:
            # exact length only where one was asked for (else it would run to max_model_len)
            body["ignore_eos"] = True
        return self.merged(body, spec)

    def prompt_fields(self, spec: RequestSpec) -> dict[str, Any]:
        return {"prompt": spec.prompt}

    def text_of(self, choice: dict[str, Any]) -> str:
        return choice.get("text") or ""

    def note_choice(
        self,
        rec: RequestRecord,
        st: StreamState,
        now_ns: int,
        choice: dict[str, Any],
        cumulative: int | None,
    ) -> None:
        """One choice's text as content; think tags (when configured) mark the reasoning."""
        text = self.text_of(choice)
        if self.think_end and text and rec.answer_chunk < 0:
            self.think_tags(rec, st, text)
        note_content(rec, st, now_ns, text, cumulative)

    def think_tags(self, rec: RequestRecord, st: StreamState, text: str) -> None:
        """Inline reasoning, until the answer starts: the first text decides whether the output
        opens with reasoning; the text holding `think_end` closes it (checked only then)."""
        if not rec.reasoning:
            if st.parts or (self.think_start and not text.lstrip().startswith(self.think_start)):
                rec.answer_chunk = 0  # no reasoning phase at the start: all of it is answer
                return
            rec.reasoning = True
        at = text.find(self.think_end)
        if at >= 0:
            end = at + len(self.think_end)
            rest_is_answer = bool(text[end:].strip())
            rec.answer_chunk = len(rec.chunk_times_ns) + (0 if rest_is_answer else 1)
            rec.reasoning_chars = sum(map(len, st.parts)) + end

    def on_event(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        if payload == b"[DONE]":
            st.done = True
            return
        data = json_loads(payload)
        if "error" in data and not data.get("choices"):
            raise StreamError(f"server_error: {_message(data['error'])}")
        usage = data.get("usage")
        cumulative = None
        if usage:
            cumulative = usage.get("completion_tokens")
            if rec.server_prompt_len is None:
                rec.server_prompt_len = usage.get("prompt_tokens")
        choices = data.get("choices")
        if choices:
            if not self.load.continuous_usage_stats:
                cumulative = None
            self.note_choice(rec, st, now_ns, choices[0], cumulative)
        elif cumulative is not None:
            # the usage-only chunk at the end (stream_options.include_usage)
            st.usage_tokens = cumulative
            rec.server_cached_tokens = cached_tokens(usage)

    def on_response(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        data = json_loads(payload)
        if "error" in data and not data.get("choices"):
            raise StreamError(f"server_error: {_message(data['error'])}")
        choices = data.get("choices") or [{}]
        usage = data.get("usage") or {}
        tokens = usage.get("completion_tokens")
        rec.server_prompt_len = usage.get("prompt_tokens")
        rec.server_cached_tokens = cached_tokens(usage)
        self.note_choice(rec, st, now_ns, choices[0], tokens)
        if tokens is not None:
            st.usage_tokens = tokens
        st.done = True


@BACKENDS.register("openai-chat")
class OpenAIChatBackend(OpenAICompletionsBackend):
    """Chat: the first chunk carries only the role (no token); content is in `delta.content`."""

    default_endpoint = "/v1/chat/completions"
    max_tokens_key = "max_completion_tokens"

    def prompt_fields(self, spec: RequestSpec) -> dict[str, Any]:
        messages = spec.messages or [{"role": "user", "content": spec.prompt}]
        return {"messages": messages}

    def text_of(self, choice: dict[str, Any]) -> str:
        part = choice.get("delta") or choice.get("message") or {}
        return part.get("content") or ""

    def note_choice(
        self,
        rec: RequestRecord,
        st: StreamState,
        now_ns: int,
        choice: dict[str, Any],
        cumulative: int | None,
    ) -> None:
        """Reasoning deltas and content: the first content after reasoning marks the answer."""
        part = choice.get("delta") or choice.get("message") or {}
        text = part.get("content") or ""
        reasoning = part.get("reasoning") or part.get("reasoning_content")
        if reasoning:
            if not rec.reasoning:
                rec.reasoning, rec.reasoning_chars = True, -1  # -1: by fields, no answer yet
            if text and rec.answer_chunk < 0:  # both in one (a non-streamed message)
                rec.answer_chunk = len(rec.chunk_times_ns)
                rec.reasoning_chars = sum(map(len, st.parts)) + len(reasoning)
            text = reasoning + text
        elif text and rec.answer_chunk < 0:
            if rec.reasoning_chars < 0:  # the first content after reasoning deltas
                rec.answer_chunk = len(rec.chunk_times_ns)
                rec.reasoning_chars = sum(map(len, st.parts))
            elif self.think_end:
                self.think_tags(rec, st, text)
        note_content(rec, st, now_ns, text, cumulative)


def cached_tokens(usage: dict[str, Any]) -> int | None:
    """usage.prompt_tokens_details.cached_tokens, when the server reports it."""
    details = usage.get("prompt_tokens_details")
    return details.get("cached_tokens") if isinstance(details, dict) else None


def _message(error: Any) -> str:
    text = error.get("message", error) if isinstance(error, dict) else error
    return " ".join(str(text).split())[:300]
