"""The SSE / JSON-lines parsers are bounded and linear: they scan only new bytes, and an event
over the limit raises EventTooLarge (however it is split)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from sweeper.client import sse
from sweeper.client.sse import EventTooLarge, JsonLinesParser, SseParser


class CountingPattern:
    """The event-end regex, counting the bytes each search is asked to look at."""

    def __init__(self) -> None:
        self.pattern = re.compile(rb"\r\n\r\n|\n\n|\r\r")
        self.scanned = 0

    def finditer(self, buf: Any, pos: int = 0) -> Any:
        self.scanned += len(buf) - pos
        return self.pattern.finditer(buf, pos)

    def search(self, buf: Any, pos: int = 0) -> Any:
        self.scanned += len(buf) - pos
        return self.pattern.search(buf, pos)


def test_a_long_event_in_small_chunks_is_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingPattern()
    monkeypatch.setattr(sse, "_EVENT_END", counting)
    parser = SseParser(max_event_bytes=1 << 30)
    line = b"data: " + b"x" * (8 << 20)
    chunk = 4096
    t0 = time.perf_counter()
    out = []
    for i in range(0, len(line), chunk):
        out += parser.feed(line[i : i + chunk])
    out += parser.feed(b"\n\ndata: [DONE]\n\n")
    took = time.perf_counter() - t0
    print(f"8 MiB event in 4 KiB chunks: {took * 1e3:.0f} ms, scanned {counting.scanned} B")
    assert [p[:3] for p, _ in out] == [b"xxx", b"[DO"]
    assert len(out[0][0]) == 8 << 20
    # each byte once, plus at most the 3 bytes before each chunk (a boundary may straddle)
    chunks = len(line) // chunk + 2
    assert counting.scanned <= len(line) + 64 + 3 * chunks


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_an_event_over_the_limit_raises_however_it_is_split(chunk: int) -> None:
    parser = SseParser(max_event_bytes=10_000)
    stream = b"data: ok\n\n" + b"data: " + b"y" * 20_000 + b"\n\n"
    events: list[tuple[bytes, int]] = []
    with pytest.raises(EventTooLarge, match=r"event_too_large: over load\.max_event_bytes=10000"):
        for i in range(0, len(stream), chunk):
            events += parser.feed(stream[i : i + chunk])
    # what came before the huge event was delivered, and the buffer never grew past the limit
    assert [p for p, _ in events] in ([b"ok"], [])
    assert len(parser._buf) <= 10_000 + chunk


def test_events_at_the_limit_pass_split_anywhere() -> None:
    event = b"data: " + b"z" * 994 + b"\r\n\r\n"  # 1004 bytes
    stream = event * 3
    for cut in (1, 3, 500, 1001, 1003, 1005, 2500):
        parser = SseParser(max_event_bytes=1024)
        out = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [end for _, end in out] == [1004, 2008, 3012], cut
        assert all(len(p) == 994 for p, _ in out)


def test_heartbeats_alone_keep_nothing() -> None:
    parser = SseParser(max_event_bytes=1024)
    for _ in range(10_000):
        assert parser.feed(b": keepalive\n\n") == []
    assert len(parser._buf) == 0


def test_json_lines_limit_and_linear_split() -> None:
    parser = JsonLinesParser(max_event_bytes=2048)
    assert parser.feed(b'{"a":') == []
    assert parser.feed(b'1}\n{"b":2}\n{"c"') == [(b'{"a":1}', 8), (b'{"b":2}', 16)]
    assert parser.feed(b":3}\n") == [(b'{"c":3}', 24)]
    with pytest.raises(EventTooLarge):
        for _ in range(100):
            parser.feed(b"q" * 100)
