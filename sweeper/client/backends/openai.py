"""OpenAI-compatible `/v1/completions` and `/v1/chat/completions` (vLLM's streaming format)."""

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
            note_content(rec, st, now_ns, self.text_of(choices[0]), cumulative)
        elif cumulative is not None:
            # the usage-only chunk at the end (stream_options.include_usage)
            st.usage_tokens = cumulative

    def on_response(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        data = json_loads(payload)
        if "error" in data and not data.get("choices"):
            raise StreamError(f"server_error: {_message(data['error'])}")
        choices = data.get("choices") or [{}]
        usage = data.get("usage") or {}
        tokens = usage.get("completion_tokens")
        rec.server_prompt_len = usage.get("prompt_tokens")
        note_content(rec, st, now_ns, self.text_of(choices[0]), tokens)
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
        return (part.get("content") or "") + (
            part.get("reasoning_content") or part.get("reasoning") or ""
        )


def _message(error: Any) -> str:
    text = error.get("message", error) if isinstance(error, dict) else error
    return " ".join(str(text).split())[:300]
