"""Incremental Server-Sent-Events parser: bytes in, `data` payloads out.

Works on whatever byte chunks the socket delivers (an event may be split across chunks or a
chunk may hold many events); the caller timestamps each chunk at arrival and gives every event
completed by that chunk the chunk's timestamp.
"""

from __future__ import annotations


class SseParser:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Return the `data` payload of every event completed by `data` (comments skipped)."""
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            # keep a trailing lone CR: its LF may come with the next chunk
            tail = b"\r" if buf.endswith(b"\r") else b""
            buf = buf[: len(buf) - len(tail)].replace(b"\r\n", b"\n").replace(b"\r", b"\n") + tail
        if b"\n\n" not in buf:
            self._buf = buf
            return []
        events = buf.split(b"\n\n")
        self._buf = events.pop()
        out: list[bytes] = []
        for event in events:
            payload = _data_of(event)
            if payload is not None:
                out.append(payload)
        return out

    def flush(self) -> list[bytes]:
        """Payload of a last event the server ended without a blank line (connection closed)."""
        rest, self._buf = self._buf, b""
        payload = _data_of(rest.rstrip(b"\r\n")) if rest.strip() else None
        return [payload] if payload is not None else []


def _data_of(event: bytes) -> bytes | None:
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

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        if b"\n" not in buf:
            self._buf = buf
            return []
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [line.strip() for line in lines if line.strip()]

    def flush(self) -> list[bytes]:
        rest, self._buf = self._buf.strip(), b""
        return [rest] if rest else []
