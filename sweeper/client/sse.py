"""Incremental Server-Sent-Events (and JSON-lines) parsers: bytes in, payloads out.

They work on whatever byte chunks the socket delivers (an event may be split across chunks, a
chunk may hold many events) and return each event's payload with the stream offset just past
its end, so the reader can give every event the arrival time of the bytes that completed it.
"""

from __future__ import annotations

import re

# an event ends at a blank line: LF LF, CRLF CRLF or CR CR
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class SseParser:
    __slots__ = ("_base", "_buf")

    def __init__(self) -> None:
        self._buf = b""
        # stream offset of the first byte of _buf
        self._base = 0

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        """(`data` payload, stream offset past the event) of every event `data` completes."""
        buf = self._buf + data if self._buf else data
        out: list[tuple[bytes, int]] = []
        start = 0
        for match in _EVENT_END.finditer(buf):
            payload = _data_of(buf[start : match.start()])
            start = match.end()
            if payload is not None:
                out.append((payload, self._base + start))
        self._buf = buf[start:]
        self._base += start
        return out

    def flush(self) -> list[tuple[bytes, int]]:
        """A last event the server ended without a blank line (connection closed)."""
        rest, self._buf = self._buf, b""
        end = self._base + len(rest)
        self._base = end
        payload = _data_of(rest.rstrip(b"\r\n")) if rest.strip() else None
        return [(payload, end)] if payload is not None else []


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

    __slots__ = ("_base", "_buf")

    def __init__(self) -> None:
        self._buf = b""
        self._base = 0

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        buf = self._buf + data if self._buf else data
        out: list[tuple[bytes, int]] = []
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            line = buf[start:nl].strip()
            start = nl + 1
            if line:
                out.append((line, self._base + start))
        self._buf = buf[start:]
        self._base += start
        return out

    def flush(self) -> list[tuple[bytes, int]]:
        rest, self._buf = self._buf, b""
        self._base += len(rest)
        rest = rest.strip()
        return [(rest, self._base)] if rest else []
