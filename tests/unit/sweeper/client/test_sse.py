from __future__ import annotations

import pytest

from sweeper.client.sse import JsonLinesParser, SseParser


def payloads(out: list[tuple[bytes, int]]) -> list[bytes]:
    return [p for p, _ in out]


def test_events_split_anywhere_come_out_whole_with_their_end_offsets() -> None:
    stream = b'data: {"a": 1}\n\ndata: {"b": 2}\n\n: keep-alive\n\ndata: [DONE]\n\n'
    ends = [stream.index(b"\n\n") + 2, stream.index(b"\n\n: keep") + 2, len(stream)]
    for cut in range(1, len(stream)):
        p = SseParser()
        out = p.feed(stream[:cut]) + p.feed(stream[cut:])
        assert out == list(zip([b'{"a": 1}', b'{"b": 2}', b"[DONE]"], ends, strict=True)), cut


def test_crlf_even_when_split_between_cr_and_lf() -> None:
    stream = b"data: x\r\n\r\ndata: y\r\n\r\n"
    for cut in range(1, len(stream)):
        p = SseParser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == [(b"x", 11), (b"y", 22)], cut


def test_multi_line_data_and_other_fields() -> None:
    p = SseParser()
    assert payloads(p.feed(b"event: msg\nid: 3\ndata: a\ndata:b\n\n")) == [b"a\nb"]
    assert p.feed(b"event: ping\n\n") == []
    assert payloads(p.feed(b"data: c\r\rdata: d\r\n\r\n")) == [b"c", b"d"]


def test_flush_returns_an_unterminated_last_event() -> None:
    p = SseParser()
    assert p.feed(b"data: 1\n\ndata: 2") == [(b"1", 9)]
    assert p.flush() == [(b"2", 16)]
    assert p.flush() == []


def test_json_lines() -> None:
    p = JsonLinesParser()
    assert p.feed(b'{"a":1}\n{"b"') == [(b'{"a":1}', 8)]
    assert p.feed(b":2}\n\n") == [(b'{"b":2}', 16)]
    assert p.feed(b'{"c":3}') == []
    assert p.flush() == [(b'{"c":3}', 24)]


@pytest.mark.parametrize(
    "stream",
    [
        b'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: [DONE]\n\n',  # the common chunk: split in C
        b"data: x\n\n: keep-alive\n\ndata: y\n\n",  # a comment: the general path
        b"data: a\ndata: b\n\ndata: c\r\n\r\n",  # multi-line, CRLF
        b"data: one\n\ndata: two",  # ends mid-event
        b"event: ping\n\ndata: z\n\n",
        b'data: {"t": "data: inside"}\n\ndata: q\n\n',
    ],
)
def test_feed_split_is_feed_as_two_lists(stream: bytes) -> None:
    for cut in range(len(stream) + 1):
        one, two = SseParser(), SseParser()
        expected = one.feed(stream[:cut]) + one.feed(stream[cut:]) + one.flush()
        payloads, ends = two.feed_split(stream[:cut])
        more, more_ends = two.feed_split(stream[cut:])
        flushed = two.flush()
        got = list(zip(payloads + more, ends + more_ends, strict=True)) + flushed
        assert got == expected, cut


def test_one_event_fast_path_agrees_with_feed_split() -> None:
    """The reader's fast path (`one_event`) gives what `feed_split` gives for the same chunk,
    for either parser, or declines (None): never another payload."""
    chunks = [
        b'data: {"a": 1}\n\n', b"data: x\n\n", b'{"a": 1}\n', b"data: a\n\ndata: b\n\n",
        b"data: a\r\n\r\n", b"data: a\n", b": keepalive\n\n", b"data: a\nb\n\n",
    ]  # fmt: skip
    for make in (SseParser, JsonLinesParser):
        for chunk in chunks:
            fast, full = make(), make()
            payload = fast.one_event(chunk)
            payloads, ends = full.feed_split(chunk)
            if payload is not None:
                assert [payload] == payloads, (make.__name__, chunk)
                assert [fast._base] == ends, (make.__name__, chunk)
