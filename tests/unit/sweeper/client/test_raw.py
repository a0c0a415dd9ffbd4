"""Deferred parsing: `complete_record` on a response's stamped raw events gives the record that
parsing each event on arrival gave, and fails a request with the same words."""

from __future__ import annotations

import json

import pytest

from sweeper.client.backends import get_backend
from sweeper.client.backends.base import StreamState, finish
from sweeper.client.config import LoadConfig
from sweeper.client.failures import BadEvent
from sweeper.client.raw import RawResponse, complete_record, fails_now
from sweeper.records import RequestRecord


def record() -> RequestRecord:
    return RequestRecord(index=0, request_id="r", prompt_len=1, expected_output_len=4)


def chunk(text: str, tokens: int | None = None) -> bytes:
    event: dict = {"choices": [{"index": 0, "text": text}]}
    if tokens is not None:
        event["usage"] = {"prompt_tokens": 3, "completion_tokens": tokens}
    return json.dumps(event).encode()


def raw_of(payloads: list[bytes], stamps: list[int]) -> RawResponse:
    raw = RawResponse()
    raw.payloads, raw.stamps = payloads, stamps
    return raw


@pytest.mark.parametrize("continuous", [False, True])
def test_deferred_parse_gives_the_record_of_parsing_on_arrival(continuous: bool) -> None:
    backend = get_backend("openai-completions")("m", LoadConfig(continuous_usage_stats=continuous))
    usage_end = json.dumps({"choices": [], "usage": {"prompt_tokens": 3,
                                                     "completion_tokens": 4}}).encode()  # fmt: skip
    payloads = [chunk("a", 1), chunk("", 1), chunk("b", 3), chunk("c", 4), usage_end, b"[DONE]"]
    stamps = [10, 20, 30, 40, 50, 60]
    on_arrival, st = record(), StreamState()
    for payload, stamp in zip(payloads, stamps, strict=True):
        backend.on_event(payload, stamp, on_arrival, st)
    finish(on_arrival, st)
    deferred = record()
    complete_record(backend, deferred, raw_of(payloads, stamps))
    assert deferred == on_arrival
    assert deferred.success and deferred.generated_text == "abc" and deferred.output_len == 4


def test_a_bad_event_fails_the_request_with_the_words_of_before_and_stops_there() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig())
    rec = record()
    rec.error = "incomplete_response: cut"  # a transport error after the bad event came
    complete_record(backend, rec, raw_of([chunk("a"), b"{not json", chunk("b")], [1, 2, 3]))
    assert rec.error.startswith("bad_event: JSONDecodeError") and "event b'{not json'" in rec.error
    assert not rec.success and rec.chunk_times_ns == [1] and rec.generated_text == "a"
    assert rec.error == str(BadEvent(_orjson_error(b"{not json"), b"{not json"))


def _orjson_error(payload: bytes) -> Exception:
    from sweeper.client.backends.base import json_loads

    try:
        json_loads(payload)
    except ValueError as exc:
        return exc
    raise AssertionError("parsed")


def test_a_server_error_event_fails_the_request_and_is_seen_in_flight() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig())
    error = json.dumps({"error": {"message": "engine  died"}}).encode()
    assert fails_now(backend, error) and not fails_now(backend, chunk("error"))
    rec = record()
    complete_record(backend, rec, raw_of([chunk("a"), error], [1, 2]))
    assert rec.error == "server_error: engine died" and not rec.success


def test_a_non_streamed_body_goes_through_on_response() -> None:
    backend = get_backend("openai-completions")("m", LoadConfig(stream=False))
    body = json.dumps({"choices": [{"text": "hi there"}],
                       "usage": {"prompt_tokens": 2, "completion_tokens": 2}}).encode()  # fmt: skip
    raw = raw_of([body], [7])
    raw.whole = True
    rec = record()
    complete_record(backend, rec, raw)
    assert rec.success and rec.output_len == 2 and rec.t_first_token_ns == 7
    assert rec.server_prompt_len == 2


def test_no_events_is_an_empty_response() -> None:
    rec = record()
    complete_record(get_backend("openai-completions")("m", LoadConfig()), rec, RawResponse())
    assert not rec.success and rec.error.startswith("empty_response")
