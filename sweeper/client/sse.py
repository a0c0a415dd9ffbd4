"""Incremental Server-Sent-Events (and JSON-lines) parsers: bytes in, payloads out.

They work on whatever byte chunks the socket delivers (an event may be split across chunks, a
chunk may hold many events) and return each event's payload with the stream offset just past
its end, so the reader can give every event the arrival time of the bytes that completed it.

Both are linear in the bytes read and bounded: only the new bytes (plus the 3 before them: a
boundary may straddle two chunks) are scanned for an event end, an unfinished event is kept in
one growing bytearray, and an event longer than `max_event_bytes` raises `EventTooLarge` (the
buffer never holds more than that plus one chunk).
"""

from __future__ import annotations

import re
from itertools import accumulate

from sweeper.client.backends.base import StreamError

# an event ends at a blank line: LF LF, CRLF CRLF or CR CR
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
# the longest boundary minus one: how far back a boundary split between chunks can start
_SPLIT = 3

DEFAULT_MAX_EVENT_BYTES = 8 << 20


class EventTooLarge(StreamError):
    """An event (or a non-streamed body) over `load.max_event_bytes`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"event_too_large: over load.max_event_bytes={limit}")


class SseParser:
    __slots__ = ("_base", "_buf", "_limit")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        # the unfinished event (empty between events, the common case at a chunk's end)
        self._buf = bytearray()
        # stream offset of the first byte of _buf
        self._base = 0
        self._limit = max_event_bytes

    def one_event(self, data: bytes) -> bytes | None:
        """The payload when `data` is one whole one-line `data: ` event with nothing pending
        (what a server writes per token, one HTTP chunk each), else None: then `feed_split`.
        The reader's fast path: no lists, no offsets (one event ends where the chunk does)."""
        if (
            not self._buf
            and data.startswith(b"data: ")
            and data.find(b"\n") == len(data) - 2
            and data.endswith(b"\n\n")
            and b"\r" not in data
            and len(data) <= self._limit
        ):
            self._base += len(data)
            return data[6:-2]
        return None

    def feed_split(self, data: bytes) -> tuple[list[bytes], list[int]]:
        """`feed` as two lists (payloads, stream offsets past each event): the reader's form.

        The common chunk — whole `data: <one line>` events ending at the chunk's end, LF only,
        nothing pending — is split by C-level scans alone (the counts prove that every event
        is one `data: ` line); anything else goes through `feed`."""
        one = self.one_event(data)
        if one is not None:
            return [one], [self._base]
        n = data.count(b"\n\n")
        if (
            n
            and not self._buf
            and data.endswith(b"\n\n")
            and len(data) <= self._limit
            and data.count(b"\n") == 2 * n
            and b"\r" not in data
            and data.startswith(b"data: ")
            and data.count(b"\n\ndata: ") == n - 1
        ):
            parts = data.split(b"\n\n")
            parts.pop()  # what follows the last boundary: nothing
            base = self._base
            self._base = base + len(data)
            ends = [base + end + 2 * i for i, end in enumerate(accumulate(map(len, parts)), 1)]
            return [part[6:] for part in parts], ends
        events = self.feed(data)
        return [e[0] for e in events], [e[1] for e in events]

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        """(`data` payload, stream offset past the event) of every event `data` completes."""
        out: list[tuple[bytes, int]] = []
        start = 0
        if self._buf:
            # finish the event left over from earlier chunks (scan only the new bytes)
            pending, old = self._buf, len(self._buf)
            pending += data
            match = _EVENT_END.search(pending, max(old - _SPLIT, 0))
            if match is None or match.start() > self._limit:
                if len(pending) > self._limit:
                    raise EventTooLarge(self._limit)
                return out
            payload = _data_of(bytes(pending[: match.start()]))
            if payload is not None:
                out.append((payload, self._base + match.end()))
            # no boundary lay wholly in the old bytes: this one ends inside `data`
            start = match.end() - old
            self._base += old
            pending.clear()
        base = self._base
        for match in _EVENT_END.finditer(data, start):
            payload = _data_of(data[start : match.start()])
            start = match.end()
            if payload is not None:
                out.append((payload, base + start))
        if len(data) > self._limit:  # rare (one compare a chunk): look at each event's size
            _check_sizes(out, base, start, len(data), self._limit)
        if start < len(data):
            self._buf += memoryview(data)[start:]
        self._base = base + start
        return out

    def flush(self) -> list[tuple[bytes, int]]:
        """A last event the server ended without a blank line (connection closed)."""
        rest = bytes(self._buf)
        self._buf.clear()
        end = self._base + len(rest)
        self._base = end
        payload = _data_of(rest.rstrip(b"\r\n")) if rest.strip() else None
        return [(payload, end)] if payload is not None else []


def _check_sizes(
    events: list[tuple[bytes, int]], base: int, start: int, length: int, limit: int
) -> None:
    """Raise EventTooLarge if an event of this chunk, or its unfinished rest, is over `limit`."""
    if length - start > limit:
        raise EventTooLarge(limit)
    previous_end = base
    for _, end in events:
        if end - previous_end > limit:
            raise EventTooLarge(limit)
        previous_end = end


def _data_of(event: bytes) -> bytes | None:
    if b"\r" in event:
        event = event.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if event.startswith(b"data:") and b"\n" not in event:
        # the common case: one data line
        return event[6:] if event[5:6] == b" " else event[5:]
    lines = [
        line[6:] if line[5:6] == b" " else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None


class JsonLinesParser:
    """Newline-delimited JSON streams (some in-house `/generate` services): one event a line."""

    __slots__ = ("_base", "_buf", "_limit")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = bytearray()
        self._base = 0
        self._limit = max_event_bytes

    def one_event(self, data: bytes) -> bytes | None:
        """No fast path for JSON lines (the reader then calls `feed_split`)."""
        return None

    def feed_split(self, data: bytes) -> tuple[list[bytes], list[int]]:
        events = self.feed(data)
        return [e[0] for e in events], [e[1] for e in events]

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        out: list[tuple[bytes, int]] = []
        start = 0
        if self._buf:
            pending, old = self._buf, len(self._buf)
            pending += data
            nl = pending.find(b"\n", old)
            if nl < 0 or nl > self._limit:
                if len(pending) > self._limit:
                    raise EventTooLarge(self._limit)
                return out
            if line := bytes(pending[:nl]).strip():
                out.append((line, self._base + nl + 1))
            start = nl + 1 - old
            self._base += old
            pending.clear()
        base = self._base
        while (nl := data.find(b"\n", start)) >= 0:
            line = data[start:nl].strip()
            start = nl + 1
            if line:
                out.append((line, base + start))
        if len(data) > self._limit:
            _check_sizes(out, base, start, len(data), self._limit)
        if start < len(data):
            self._buf += memoryview(data)[start:]
        self._base = base + start
        return out

    def flush(self) -> list[tuple[bytes, int]]:
        rest = bytes(self._buf)
        self._buf.clear()
        self._base += len(rest)
        rest = rest.strip()
        return [(rest, self._base)] if rest else []
