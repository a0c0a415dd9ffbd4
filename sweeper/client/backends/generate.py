"""The `/generate` protocol of a typical in-house vLLM service wrapper.

Request: `{model, prompt, system_info, history_input[], history_output[], temperature,
max_tokens, stream}`; chat history comes from the spec's messages (earlier user turns go to
`history_input`, assistant turns to `history_output`, the last user turn is `prompt`). Response
fields are found by the dotted paths of `load.generate` (streamed as SSE or as JSON lines, or one
JSON body when `load.stream=false`).
"""

from __future__ import annotations

from typing import Any

from sweeper.client.backends.base import (
    BACKENDS,
    Backend,
    StreamError,
    StreamState,
    dig,
    json_loads,
    note_content,
)
from sweeper.records import RequestRecord, RequestSpec


@BACKENDS.register("generate")
class GenerateBackend(Backend):
    default_endpoint = "/generate"

    def body(self, spec: RequestSpec) -> dict[str, Any]:
        cfg = self.load.generate
        prompt = spec.prompt
        system_info = cfg.system_info
        history_in: list[str] = []
        history_out: list[str] = []
        if spec.messages:
            turns = list(spec.messages)
            if turns and turns[-1].get("role") == "user":
                prompt = str(turns.pop()["content"])
            for turn in turns:
                role = turn.get("role")
                if role == "system":
                    system_info = str(turn.get("content", ""))
                elif role == "user":
                    history_in.append(str(turn.get("content", "")))
                elif role == "assistant":
                    history_out.append(str(turn.get("content", "")))
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "system_info": system_info,
            "history_input": history_in,
            "history_output": history_out,
            "temperature": cfg.temperature,
            "stream": self.load.stream,
        }
        if spec.output_len is not None:
            body["max_tokens"] = spec.output_len
        if self.load.ignore_eos and spec.output_len is not None:
            # exact length only where one was asked for (else it would run to max_model_len)
            body["ignore_eos"] = True
        return self.merged(body, spec)

    def on_event(self, payload: bytes, now_ns: int, rec: RequestRecord, st: StreamState) -> None:
        if payload == b"[DONE]":
            st.done = True
            return
        data = json_loads(payload)
        if isinstance(data, dict) and data.get("error") and dig(data, cfg_path(self)) is None:
            raise StreamError(f"server_error: {data['error']}")
        cfg = self.load.generate
        text = dig(data, cfg.text_path)
        text = "" if text is None else str(text)
        if cfg.cumulative_text:
            seen = sum(len(p) for p in st.parts)
            text = text[seen:]
        tokens = dig(data, cfg.output_tokens_path)
        note_content(rec, st, now_ns, text, int(tokens) if tokens is not None else None)
        if tokens is not None:
            st.usage_tokens = int(tokens)
        if cfg.finished_path is not None and dig(data, cfg.finished_path):
            st.done = True


def cfg_path(backend: GenerateBackend) -> str:
    return backend.load.generate.text_path
