from __future__ import annotations

import json

import pytest

from sweeper.client.backends import get_backend, register_backend
from sweeper.client.backends.base import Backend, StreamError, StreamState, dig, finish
from sweeper.client.config import GenerateProtocolConfig, LoadConfig
from sweeper.records import RequestRecord, RequestSpec


def record() -> RequestRecord:
    return RequestRecord(index=0, request_id="r", prompt_len=1, expected_output_len=None)


def test_generate_body_maps_chat_history() -> None:
    load = LoadConfig(backend="generate", generate=GenerateProtocolConfig(system_info="sys"))
    backend = get_backend("generate")("m", load)
    spec = RequestSpec(
        prompt="ignored",
        prompt_len=1,
        output_len=9,
        messages=[
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
        ],
        extra_body={"priority": 1},
    )
    body = backend.body(spec)
    assert body["prompt"] == "q2" and body["history_input"] == ["q1"]
    assert body["history_output"] == ["a1"] and body["system_info"] == "sys"
    assert body["max_tokens"] == 9 and body["priority"] == 1 and body["model"] == "m"


def test_generate_cumulative_text_and_non_streaming_paths() -> None:
    cfg = GenerateProtocolConfig(text_path="out.0.text", cumulative_text=True)
    backend = get_backend("generate")("m", LoadConfig(generate=cfg))
    rec, st = record(), StreamState()
    for i, text in enumerate(["Hel", "Hello", "Hello!"]):
        backend.on_event(json.dumps({"out": [{"text": text}]}).encode(), 10 + i, rec, st)
    finish(rec, st)
    assert rec.generated_text == "Hello!" and rec.chunk_times_ns == [10, 11, 12] and rec.success


def test_openai_error_event_raises() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig())
    with pytest.raises(StreamError, match="server_error: overloaded"):
        backend.on_event(b'{"error": {"message": "overloaded"}}', 1, record(), StreamState())


def test_usage_without_text_advances_tokens() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig())
    rec, st = record(), StreamState()
    # a token that decodes to nothing yet (partial UTF-8) still arrived
    backend.on_event(b'{"choices":[{"text":""}],"usage":{"completion_tokens":1}}', 5, rec, st)
    backend.on_event(
        b'{"choices":[{"text":"\\u00e9"}],"usage":{"completion_tokens":2}}', 6, rec, st
    )
    backend.on_event(b'{"choices":[],"usage":{"completion_tokens":2}}', 7, rec, st)
    finish(rec, st)
    assert rec.t_first_token_ns == 5 and rec.chunk_tokens == [1, 1] and rec.output_len == 2
    assert rec.exact_chunk_tokens


def test_empty_stream_is_a_failure() -> None:
    rec, st = record(), StreamState()
    finish(rec, st)
    assert not rec.success and rec.error.startswith("empty_response")


def test_dig_paths() -> None:
    obj = {"a": [{"b": 1}], "c": None}
    assert dig(obj, "a.0.b") == 1 and dig(obj, "a.1.b") is None and dig(obj, "c.d") is None


def test_custom_backend_plugs_in() -> None:
    class Echo(Backend):
        default_endpoint = "/echo"

        def body(self, spec: RequestSpec) -> dict:
            return {"q": spec.prompt}

    register_backend("echo", Echo)
    assert get_backend("echo") is Echo


def test_non_streaming_error_body_raises() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig(stream=False))
    with pytest.raises(StreamError, match="server_error: context too long"):
        backend.on_response(
            b'{"error": {"message": "context\\ntoo long"}}', 1, record(), StreamState()
        )


def test_builtin_backends_are_registered_and_unknown_names_the_key() -> None:
    from instruments.errors import ConfigError
    from sweeper.client.backends import BACKENDS

    builtin = {"openai-completions", "openai-chat", "generate", "openai-embeddings", "rerank"}
    assert builtin | {"score"} <= set(BACKENDS.names())
    with pytest.raises(ConfigError, match=r"^load\.backend: unknown backend 'nope' \(one of "):
        get_backend("nope")
