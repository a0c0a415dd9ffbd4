"""No event of any shape escapes a backend as anything but a request failure."""

from __future__ import annotations

import aiohttp
import pytest

from sweeper.client.backends import get_backend
from sweeper.client.backends.base import StreamError, StreamState, finish
from sweeper.client.config import LoadConfig
from sweeper.client.failures import EVENT_FAULTS, BadEvent, failure_text
from sweeper.records import RequestRecord
from tests.helpers.bad_sse_server import WRONG_SHAPES

PAYLOADS = [*WRONG_SHAPES, b"", b"{", b'{"choices": null}', b'{"error": 5}', b'{"error": null}',
            b'{"choices": [{"delta": {"content": 5}}]}', b'{"usage": {"completion_tokens": "3"}}',
            b'{"choices": [{"text": "a"}], "usage": {"completion_tokens": [1]}}',
            b'{"usage": {"prompt_tokens": "x", "completion_tokens": 1}, "choices": []}',
            b'{"data": 1}', b'{"results": null}', b"[DONE]"]  # fmt: skip
BACKENDS = [("openai-completions", True), ("openai-chat", True), ("generate", True),
            ("openai-embeddings", False), ("rerank", False)]  # fmt: skip


def record() -> RequestRecord:
    return RequestRecord(index=0, request_id="r", prompt_len=1, expected_output_len=None)


@pytest.mark.parametrize(("name", "stream"), BACKENDS)
def test_any_payload_is_read_or_a_request_failure(name: str, stream: bool) -> None:
    backend = get_backend(name)("m", LoadConfig(backend=name, stream=stream))
    for payload in PAYLOADS:
        rec, st = record(), StreamState()
        try:
            if stream:
                backend.on_event(payload, 1, rec, st)
            else:
                backend.on_response(payload, 1, rec, st)
        except (StreamError, *EVENT_FAULTS) as exc:
            rec.error = str(BadEvent(exc, payload))
        finish(rec, st)
        # whatever came, the record is consistent: typed fields, an error or a success
        assert isinstance(rec.generated_text, str) and isinstance(rec.output_len, int), payload
        assert rec.server_prompt_len is None or isinstance(rec.server_prompt_len, int), payload
        assert rec.success != bool(rec.error), payload


def test_wrong_types_found_once_at_the_end() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig())
    rec, st = record(), StreamState()
    backend.on_event(b'{"choices": [{"text": 7}]}', 1, rec, st)
    finish(rec, st)
    assert rec.error == "bad_event: a text field is not a string" and not rec.success


def test_failure_texts_name_their_reason() -> None:
    assert failure_text(TimeoutError(), 5, None).startswith("timeout: ")
    idle = failure_text(aiohttp.SocketTimeoutError(), 5, 2)
    assert idle.startswith("idle_timeout: no byte for 2")
    assert failure_text(aiohttp.ConnectionTimeoutError(), 5, None).startswith("connect_error")
    payload = aiohttp.ClientPayloadError("cut")
    assert failure_text(payload, 5, None).startswith("incomplete_response")
    event = BadEvent(TypeError("no"), b"x" * 200)
    assert str(event).startswith("bad_event: TypeError: no; event b'xxx") and str(event).endswith(
        "…"
    )
