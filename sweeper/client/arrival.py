"""Byte-arrival timestamps: taken in the protocol's `data_received`, not when the reading
coroutine wakes up.

When many streams receive an event in the same instant (every decode step of a batched server),
the loop first runs every socket's `data_received` (microseconds each) and only then resumes the
reading coroutines one after another; a coroutine's clock read can be late by everything the
loop did before it. So the connection's protocol notes `(monotonic_ns at arrival, payload bytes
received so far)` for every read, and the reader gives each SSE event the arrival time of the
read that completed it. Without the hook (a different aiohttp) the wake-up time is used.

The arrival time itself is the kernel's receive stamp of those bytes where the socket has one
(`instruments.rxstamp`, the session's sockets), so a loop busy with other streams does not delay it.
"""

from __future__ import annotations

import functools
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError

from instruments.rxstamp import arrival_ns, socket_fd


class TimedResponseHandler(ResponseHandler):
    """aiohttp's response protocol plus an arrival log of the current response's payload."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rx_payload: Any = None
        self.rx: list[tuple[int, int]] = []
        # arrival of the latest read (for a reader that takes the bytes in this call)
        self.last_arrival_ns = 0
        self._fd = -1

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._fd = socket_fd(transport)

    def data_received(self, data: bytes) -> None:
        if not data:
            # aiohttp calls this with nothing when its reader resumes reading (once a chunk
            # read): no bytes arrived, so no stamp
            super().data_received(data)
            return
        now = self.last_arrival_ns = arrival_ns(self._fd)
        before = self._payload
        super().data_received(data)
        payload = self._payload or before
        if payload is None:
            return
        if payload is not self.rx_payload:
            self.rx_payload = payload
            self.rx = []
        self.rx.append((now, payload.total_bytes))

    def resume_reading(self, resume_parser: bool = True) -> None:
        """aiohttp's reader calls this after every chunk it hands out, paused or not, and
        resuming re-enters the parser with no bytes; when reading is not paused there is
        nothing to resume (the parser pauses only by pausing reading), so nothing is done."""
        if getattr(self, "_reading_paused", True) or getattr(self, "_buffer_paused", True):
            super().resume_reading(resume_parser)

    def set_exception(self, exc: BaseException, *cause: Any) -> None:
        """aiohttp puts an HTTP parse error of the body (broken chunked framing) on the
        connection only, where nobody waits once the headers are in: the reader of the body
        would wait until the timeout. It goes to the body's reader too."""
        payload = self._payload
        super().set_exception(exc, *cause)
        if not isinstance(exc, HttpProcessingError):
            return  # a timeout or a lost connection reaches the reader already
        if payload is not None and not payload.is_eof() and payload.exception() is None:
            message = getattr(exc, "message", "") or str(exc)
            payload.set_exception(aiohttp.ClientPayloadError(f"broken framing: {message}"))


def install(connector: aiohttp.TCPConnector) -> bool:
    """Make `connector` create TimedResponseHandler connections (False: not possible)."""
    factory = getattr(connector, "_factory", None)
    if not isinstance(factory, functools.partial) or factory.func is not ResponseHandler:
        return False
    timed = functools.partial(TimedResponseHandler, *factory.args, **factory.keywords)
    # a private attribute of aiohttp's (checked above): set by name, not through its type
    setattr(connector, "_factory", timed)  # noqa: B010
    return True


class ArrivalClock:
    """Arrival time of the read that completed payload byte offset `end` (monotonic ns)."""

    __slots__ = ("_i", "_rx")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        conn = response.connection
        proto = conn.protocol if conn is not None else None
        rx = getattr(proto, "rx", None)
        self._rx: list[tuple[int, int]] | None = (
            rx
            if rx is not None and getattr(proto, "rx_payload", None) is response.content
            else None
        )
        self._i = 0

    def stamps(self, ends: list[int], fallback: int) -> list[int]:
        """`at` of each of `ends` (ascending): one look-up when one read completed them all."""
        rx = self._rx
        if rx is None or not ends:
            return [fallback] * len(ends)
        i, n = self._i, len(rx)
        first = ends[0]
        while i < n and rx[i][1] < first:
            i += 1
        self._i = i
        if i < n and ends[-1] <= rx[i][1]:
            return [rx[i][0]] * len(ends)
        return [self.at(end, fallback) for end in ends]

    def at(self, end: int, fallback: int) -> int:
        rx = self._rx
        if rx is None:
            return fallback
        i, n = self._i, len(rx)
        while i < n and rx[i][1] < end:
            i += 1
        self._i = i
        return rx[i][0] if i < n else fallback
