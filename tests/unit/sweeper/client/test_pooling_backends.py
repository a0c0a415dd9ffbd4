from __future__ import annotations

import json

import pytest

from instruments.errors import ConfigError
from sweeper.client.backends import get_backend
from sweeper.client.backends.base import StreamError, StreamState, finish
from sweeper.client.config import LoadConfig
from sweeper.metrics.per_request import itls_ms, tpot_ms
from sweeper.records import RequestRecord, RequestSpec

DOCS = RequestSpec("q", 9, None, extra_body={"documents": ["a", "b"], "truncate": 8})


def backend(name: str, **kw: object):  # type: ignore[no-untyped-def]
    return get_backend(name)("m", LoadConfig(backend=name, stream=False, **kw))  # type: ignore[arg-type]


def test_bodies() -> None:
    assert backend("openai-embeddings").body(RequestSpec("hi", 1, None)) == {
        "model": "m",
        "input": "hi",
    }
    assert backend("openai-embeddings").body(DOCS)["input"] == ["q", "a", "b"]
    rerank = backend("rerank", extra_body={"top_n": 1}).body(DOCS)
    assert rerank == {
        "model": "m",
        "query": "q",
        "documents": ["a", "b"],
        "top_n": 1,
        "truncate": 8,
    }
    score = backend("score").body(DOCS)
    assert (score["text_1"], score["text_2"]) == ("q", ["a", "b"])


def test_streaming_and_missing_documents_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"load\.stream"):
        get_backend("rerank")("m", LoadConfig(backend="rerank"))
    with pytest.raises(ConfigError, match="dataset=rerank"):
        backend("rerank").body(RequestSpec("q", 1, None))


def test_response_makes_a_successful_zero_token_record() -> None:
    rec = RequestRecord(index=0, request_id="r", prompt_len=9, expected_output_len=None)
    rec.t_send_ns = 100
    st = StreamState()
    payload = json.dumps({"data": [{"embedding": [0.1]}], "usage": {"prompt_tokens": 9}})
    backend("openai-embeddings").on_response(payload.encode(), 5_000_100, rec, st)
    finish(rec, st)
    assert rec.success and rec.output_len == 0
    assert rec.ttft_ms == rec.e2el_ms == 5.0
    assert tpot_ms(rec) is None and len(itls_ms(rec)) == 0


def test_error_body_fails_the_record() -> None:
    rec = RequestRecord(index=0, request_id="r", prompt_len=9, expected_output_len=None)
    with pytest.raises(StreamError, match="server_error: bad"):
        backend("rerank").on_response(b'{"error": {"message": "bad"}}', 1, rec, StreamState())
