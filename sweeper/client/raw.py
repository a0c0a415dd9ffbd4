"""What a response leaves while it is in flight — its event payloads, each with the arrival
stamp of the bytes that completed it — and `complete_record`, which turns them into the record
afterwards.

The hot path only reads bytes, stamps them, splits events and keeps `(payload, arrival_ns)`:
JSON, token counts, text and type checks cost more than all of that together and change no
timestamp, so they run once the requests are done (`Sender.complete_pending`, after the run's
session is closed) or, for a caller that needs one answer before it sends the next (a session's
turns), on that one request (`Sender.complete`). The record is the same as if every event had
been parsed on arrival: the backend's `on_event` / `on_response` see the same payloads with the
same stamps, in the same order, and an event they cannot read fails the request with the same
words (`bad_event: …`, `server_error: …`), which win over a later transport error (the event
came first).
"""

from __future__ import annotations

from sweeper.client.backends.base import Backend, StreamError, StreamState, finish
from sweeper.client.failures import EVENT_FAULTS, BadEvent
from sweeper.records import RequestRecord

__all__ = ["RawResponse", "complete_record", "fails_now"]


class RawResponse:
    """One response's events as they arrived (streamed), or its whole body (`whole`)."""

    __slots__ = ("nbytes", "payloads", "stamps", "whole")

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        # arrival (monotonic ns) of the read that completed each payload
        self.stamps: list[int] = []
        # body bytes read (bounds what unparsed responses may hold: Sender.RAW_BUDGET_BYTES)
        self.nbytes = 0
        self.whole = False


def complete_record(backend: Backend, rec: RequestRecord, raw: RawResponse) -> None:
    """Parse `raw` into `rec` through the backend, then close the record (length, text,
    success). Call it once per record, after its response ended."""
    st = StreamState()
    payload = b""
    try:
        if raw.whole:
            for payload, stamp in zip(raw.payloads, raw.stamps, strict=True):
                backend.on_response(payload, stamp, rec, st)
        else:
            for payload, stamp in zip(raw.payloads, raw.stamps, strict=True):
                backend.on_event(payload, stamp, rec, st)
    except StreamError as exc:
        rec.error = str(exc)
    except EVENT_FAULTS as exc:
        rec.error = str(BadEvent(exc, payload))
    finish(rec, st)
    if rec.error:
        rec.success = False


def fails_now(backend: Backend, payload: bytes) -> bool:
    """Whether the backend would fail the request on this event (parsed on scratch objects:
    used in flight only for an event that looks like an error, to stop reading at once)."""
    scratch = RequestRecord(index=-1, request_id="", prompt_len=0, expected_output_len=None)
    try:
        backend.on_event(payload, 0, scratch, StreamState())
    except (StreamError, *EVENT_FAULTS):
        return True
    return False
