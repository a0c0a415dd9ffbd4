"""The streamed body read inside the connection's `data_received`: no coroutine wakes per chunk.

aiohttp's HTTP parser hands each body chunk to the response's `StreamReader.feed_data`, which
buffers it and wakes the reading coroutine; the coroutine then takes the chunk out again, which
resumes reading. Per chunk that is a future, a task step and five Python calls — at one event
per read (a token at a time), more than everything else the client does with the event. Here
the reader's `feed_data` is replaced, for this one response, by a function that splits the
chunk into events and keeps `(payload, arrival)` at once, in the `data_received` call of the
read that brought the bytes (so the arrival is that read's stamp: `TimedResponseHandler.
last_arrival_ns`). The coroutine waits for the end of the body only: one wake per response.

What the old loop did is kept: the bytes buffered before the hook was set (they may come with
the headers) are read first; the total timeout (`load.request_timeout_s`), the idle timeout,
a cut connection and broken framing end the wait with the same exceptions; an event over
`load.max_event_bytes` fails the request with `EventTooLarge`; an event the backend would fail
on (`"error"` in it) stops reading there. Without the hook (another aiohttp) the caller reads
chunk by chunk as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from sweeper.client.arrival import ArrivalClock
from sweeper.client.backends.base import Backend
from sweeper.client.raw import RawResponse, fails_now
from sweeper.client.sse import EventTooLarge, JsonLinesParser, SseParser

_now = time.monotonic_ns
# an event holding this may be the server's error: parsed at once, to stop reading there
MAYBE_ERROR = b'"error"'


class _Stop(Exception):
    """Raised into the waiting coroutine: an event fails the request, reading stops."""


class _Feed:
    """The response's `feed_data` while it is read: events and stamps into `raw`."""

    __slots__ = ("backend", "content", "done", "parser", "proto", "raw")

    def __init__(self, content: Any, proto: Any, parser: SseParser | JsonLinesParser,
                 raw: RawResponse, backend: Backend) -> None:  # fmt: skip
        self.content, self.proto, self.parser = content, proto, parser
        self.raw, self.backend = raw, backend
        self.done = False

    def __call__(self, data: bytes, size: int = 0) -> bool:
        if self.done or not data:
            return False
        raw = self.raw
        raw.nbytes += len(data)
        payload = self.parser.one_event(data)
        if payload is not None:  # the common chunk: one token's event
            raw.payloads.append(payload)
            raw.stamps.append(self.proto.last_arrival_ns)
            if MAYBE_ERROR in payload and error_among(self.backend, [payload], raw):
                self._fail(_Stop())
            return False
        try:
            events, _ = self.parser.feed_split(data)
        except EventTooLarge as exc:
            self._fail(exc)
            return False
        raw.payloads += events
        raw.stamps += [self.proto.last_arrival_ns] * len(events)
        if MAYBE_ERROR in data and error_among(self.backend, events, raw):
            self._fail(_Stop())
        return False

    def _fail(self, exc: BaseException) -> None:
        self.done = True
        self.content.set_exception(exc)


def hookable(resp: aiohttp.ClientResponse) -> Any:
    """The connection's protocol when this response can be read in `data_received`, else None."""
    conn = resp.connection
    proto = conn.protocol if conn is not None else None
    content = resp.content
    if (
        getattr(proto, "rx_payload", None) is not content
        or not hasattr(proto, "last_arrival_ns")
        or type(content).feed_data is not aiohttp.StreamReader.feed_data
    ):
        return None
    return proto


async def read_in_callbacks(
    resp: aiohttp.ClientResponse,
    proto: Any,
    parser: SseParser | JsonLinesParser,
    raw: RawResponse,
    backend: Backend,
) -> None:
    """Read the whole body into `raw` (see module doc); returns at its end."""
    content = resp.content
    feed = _Feed(content, proto, parser, raw, backend)
    # what came before the hook (with the headers, or while the caller was not reading yet),
    # each event with the arrival of the read that completed it
    clock = ArrivalClock(resp)
    early = content.read_nowait(-1)
    _FEEDS[id(content)] = feed
    content.__class__ = _HookedReader  # this response's reader only (same slots)
    try:
        if early:
            raw.nbytes += len(early)
            events, ends = parser.feed_split(early)
            raw.payloads += events
            raw.stamps += clock.stamps(ends, _now())
            if MAYBE_ERROR in early and error_among(backend, events, raw):
                return
        await _wait_end(content, feed, proto)
    except _Stop:
        return
    finally:
        content.__class__ = aiohttp.StreamReader
        del _FEEDS[id(content)]
    for event, _ in parser.flush():  # a last event the server ended without a blank line
        raw.payloads.append(event)
        raw.stamps.append(proto.last_arrival_ns or _now())


async def _wait_end(content: Any, feed: _Feed, proto: Any) -> None:
    """Until the body has ended (or failed: its exception is raised)."""
    if content.exception() is None and not content.is_eof() and not feed.done:
        # the idle timeout (aiohttp's read timeout) is checked here, not by aiohttp: it would
        # cancel and re-arm a timer on every read (7 % of the loop's time at one token a read)
        idle_s = proto.read_timeout
        if idle_s:
            proto.read_timeout = None
            proto.start_timeout()  # drops the armed timer (set again for the next response)
        # aiohttp's total timeout cancels a task inside the reader's timer context
        timer = getattr(content, "_timer", None)
        with timer if timer is not None else contextlib.nullcontext():
            if idle_s:
                await _wait_eof_or_silence(content, proto, idle_s)
            else:
                await content.wait_eof()
    exc = content.exception()
    if exc is not None:
        raise exc


async def _wait_eof_or_silence(content: Any, proto: Any, idle_s: float) -> None:
    """Until the body ends, or `idle_s` pass with no byte read (the last read's stamp): then
    aiohttp's own read-timeout error, on the connection (not reused) and the body. One timer
    per `idle_s` of the response, not one per read."""
    eof = asyncio.ensure_future(content.wait_eof())
    try:
        while not eof.done():
            silent_s = (_now() - proto.last_arrival_ns) / 1e9
            if silent_s >= idle_s:
                exc = aiohttp.SocketTimeoutError("Timeout on reading data from socket")
                proto.set_exception(exc)
                content.set_exception(exc)
                return
            await asyncio.wait((eof,), timeout=idle_s - silent_s)
    finally:
        if not eof.done():
            eof.cancel()
        eof.add_done_callback(_retrieved)


def _retrieved(task: asyncio.Future[None]) -> None:
    """The wait's outcome is the body's state, read by the caller: the task's is dropped."""
    if not task.cancelled():
        task.exception()


def error_among(backend: Backend, events: list[bytes], raw: RawResponse) -> bool:
    """Whether one of `events` (the chunk's, the last ones of `raw`) fails the request: if so
    the ones after it are dropped, as reading stopped there when events were parsed on
    arrival (rare: only a chunk that holds `"error"` is looked at)."""
    for k, event in enumerate(events):
        if MAYBE_ERROR in event and fails_now(backend, event):
            keep = len(raw.payloads) - len(events) + k + 1
            del raw.payloads[keep:], raw.stamps[keep:]
            return True
    return False


# id(reader) -> its _Feed while it is read (the reader has slots: no attribute of our own)
_FEEDS: dict[int, _Feed] = {}


class _HookedReader(aiohttp.StreamReader):
    """A StreamReader whose body chunks go to its `_Feed` instead of its buffer."""

    __slots__ = ()

    def feed_data(self, data: bytes, size: int = 0) -> bool:
        return _FEEDS[id(self)](data, size)

    def end_http_chunk_receiving(self) -> None:
        """Chunk splits serve `iter_chunks` only: not kept."""
