"""Arrival timestamps come from the protocol's data_received, not the coroutine's wake-up."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import threading
import time

import pytest

from sweeper.client import sender as sender_module
from sweeper.client import session as session_module
from sweeper.client.arrival import ArrivalClock, TimedResponseHandler, install
from sweeper.client.config import LoadConfig
from sweeper.client.runner import run_benchmark
from sweeper.client.session import open_session
from sweeper.records import RequestSpec
from tests.unit.sweeper.client.fake_openai import FakeBehaviour, FakeOpenAI

MS = 1_000_000


def test_connector_uses_the_timed_protocol() -> None:
    async def main() -> None:
        async with open_session(LoadConfig(), 2) as session:
            assert session.connector is not None
            assert session.connector._factory.func is TimedResponseHandler  # type: ignore[attr-defined]
            assert install(session.connector) is False  # already installed

    asyncio.run(main())


def test_event_times_come_from_data_received(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's own clock is replaced by a far-future fake: every chunk time must still be
    a real arrival time taken in the protocol's data_received."""
    fake = 10**18
    monkeypatch.setattr(sender_module, "_now", lambda: fake)

    async def main() -> list[int]:
        async with FakeOpenAI(FakeBehaviour(itl_s=0.01, split_events=True)) as server:
            specs = [RequestSpec(prompt="p", prompt_len=1, output_len=3)]
            load = LoadConfig(concurrency=1, progress=False)
            before = time.monotonic_ns()
            run = await run_benchmark(server.base_url, "m", specs, load)
            after = time.monotonic_ns()
            times = run.records[0].chunk_times_ns
            assert all(before < t < after for t in times), times
            return times

    times = asyncio.run(main())
    # split events: each is completed by its second half, written 1 ms after the first
    assert len(times) == 3 and all(b - a >= 10_000_000 for a, b in itertools.pairwise(times))


def test_arrival_clock_maps_offsets_to_reads() -> None:
    clock = ArrivalClock.__new__(ArrivalClock)
    clock._rx, clock._i = [(100, 10), (200, 25), (300, 40)], 0
    assert [clock.at(end, -1) for end in (5, 10, 11, 25, 40, 41)] == [100, 100, 200, 200, 300, -1]
    clock._rx = None
    assert clock.at(3, 7) == 7


class ThreadServer:
    """A raw HTTP/1.1 server in a thread (not in the client's loop): /v1/models, and a stream of
    two SSE events 300 ms apart whose write times it keeps."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.event_ns: list[int] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            # else Nagle holds an event written right after the headers until the client's
            # delayed ACK (40 ms): it would reach the client late, and the truth be wrong
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = (
                    int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                    if b"ength" in head
                    else 0
                )  # type: ignore[union-attr]
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                if head.startswith(b"GET"):
                    body = b'{"data": []}'
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%b" % (len(body), body))  # fmt: skip
                    continue
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
                for i, text in enumerate(("a", "b")):
                    if i:
                        time.sleep(0.3)
                    event = b'data: {"choices": [{"index": 0, "text": "%b"}]}\n\n' % text.encode()
                    self.event_ns.append(time.monotonic_ns())
                    conn.sendall(b"%x\r\n%b\r\n" % (len(event), event))
                done = b"data: [DONE]\n\n"
                conn.sendall(b"%x\r\n%b\r\n0\r\n\r\n" % (len(done), done))

    def close(self) -> None:
        self.listener.close()


def test_a_busy_client_loop_does_not_delay_token_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after the request is written the client's loop blocks for 150 ms, while the first
    event arrives: its time must still be the arrival (the kernel's stamp), not the late read."""
    written = session_module._request_written

    async def then_block(*args: object) -> None:
        await written(*args)  # type: ignore[arg-type]
        asyncio.get_running_loop().call_soon(time.sleep, 0.15)

    monkeypatch.setattr(session_module, "_request_written", then_block)
    server = ThreadServer()
    try:
        specs = [RequestSpec(prompt="p", prompt_len=1, output_len=2)]
        load = LoadConfig(concurrency=1, progress=False, backend="openai-completions")
        run = asyncio.run(run_benchmark(f"http://127.0.0.1:{server.port}", "m", specs, load))
    finally:
        server.close()
    rec = run.records[0]
    assert rec.success and rec.output_len == 2, rec.error
    first, second = server.event_ns
    assert 0 <= rec.chunk_times_ns[0] - first < 5 * MS, (rec.chunk_times_ns[0] - first) / MS
    assert 0 <= rec.chunk_times_ns[1] - second < 5 * MS
    # TTFT starts when the request left, not when the HTTP call began
    assert rec.t_post_ns < rec.t_send_ns < first


def test_stamps_is_at_of_each_end() -> None:
    class Response:
        content = object()
        connection = None

    rx = [(100, 10), (200, 25), (300, 40)]
    for ends in ([3, 7, 10], [3, 12, 25], [26, 40], [41, 50], [10, 26, 41]):
        one, many = ArrivalClock(Response()), ArrivalClock(Response())  # type: ignore[arg-type]
        one._rx = many._rx = rx
        assert many.stamps(ends, 999) == [one.at(end, 999) for end in ends], ends
