"""The floor: the least a Python asyncio client can do per streamed token, run beside sweeper
and `vllm bench serve` so their CPU figures can be read against what this machine allows.

It does only what any client that stamps every token must: one asyncio protocol per keep-alive
connection on a kernel-stamped socket (`instruments.rxstamp`), HTTP/1.1 requests written as
bytes, the chunked body split with C-level scans, and one arrival stamp kept per SSE event. No
HTTP library, no JSON per event, no records, no dataset, no validation: what is left is the
event loop, the socket reads and the kernel's side of loopback TCP. A client that does more per
token cannot cost less than this on the same machine.

    python -m sweeper.bench.floor_client --url http://127.0.0.1:8123 --requests 2000 \
        --concurrency 256 --output-len 256 --prefix floor- --out stamps.json

It writes `{"stamps": {request id: [send ns, first-event ns]}}` (CLOCK_MONOTONIC). Only the
bench's fake server is its peer: a status other than 200 or a connection lost mid-response ends
the run with a one-line error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from pathlib import Path

from instruments.rxstamp import arrival_ns, open_socket

_now = time.monotonic_ns
# bytes asked of each read. asyncio's transports ask 256 KiB, above glibc's mmap threshold (128
# KiB): a process that has not yet freed a larger block (one that imported little) then maps,
# shrinks and unmaps memory on every read, three system calls more per token
READ_SIZE = 64 * 1024


class FloorError(Exception):
    """The peer answered something the floor does not read."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one response at a time, its events' stamps in `stamps`."""

    def __init__(self) -> None:
        self.fd = -1
        self.buf = b""
        self.in_head = True
        self.stamps: list[int] = []
        self.done: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(FloorError(f"connection lost mid-response ({exc or 'closed by the server'})"))

    def expect(self, done: asyncio.Future[None]) -> None:
        self.done, self.buf, self.in_head, self.stamps = done, b"", True, []

    def data_received(self, data: bytes) -> None:
        now = arrival_ns(self.fd)
        buf = self.buf + data if self.buf else data
        pos = 0
        if self.in_head:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 200 "):
                status_line = buf.split(b"\r\n", 1)[0]
                self._fail(FloorError(f"answered {status_line!r}"))
                return
            self.in_head, pos = False, end + 4
        while True:  # whole chunks: "<hex size>\r\n<data>\r\n", the body's end "0\r\n\r\n"
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(buf[pos:eol], 16)
            end = eol + 2 + size
            if len(buf) < end + 2:
                break
            if size == 0:
                self.buf = b""
                if self.done is not None and not self.done.done():
                    self.done.set_result(None)
                return
            self.stamps += [now] * buf.count(b"data: ", eol + 2, end)
            pos = end + 2
        self.buf = buf[pos:]

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)


def request_bytes(host: str, request_id: str, body: bytes) -> bytes:
    return (
        b"POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"x-request-id: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (host.encode(), request_id.encode(), len(body), body)
    )


async def run(url: str, requests: int, concurrency: int, output_len: int, input_len: int,
              prefix: str) -> dict[str, list[int]]:  # fmt: skip
    """{request id: [send ns, first event's arrival ns]} for `requests` streamed completions."""
    host_port = url.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    body = json.dumps({
        "model": "bench", "prompt": "hi " * input_len, "max_tokens": output_len,
        "stream": True, "ignore_eos": True, "stream_options": {"include_usage": True},
    }).encode()  # fmt: skip
    todo = list(range(requests - 1, -1, -1))
    stamps: dict[str, list[int]] = {}
    loop = asyncio.get_running_loop()

    async def worker() -> None:
        sock = open_socket((socket.AF_INET, socket.SOCK_STREAM, 0))
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, (host, int(port)))
        transport, conn = await loop.create_connection(_Connection, sock=sock)
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]
        try:
            while todo:
                request_id = f"{prefix}{todo.pop()}"
                done = loop.create_future()
                conn.expect(done)
                sent = _now()
                transport.write(request_bytes(host_port, request_id, body))
                await done
                stamps[request_id] = [sent, conn.stamps[0] if conn.stamps else 0]
        finally:
            conn.done = None
            transport.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    return stamps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--output-len", type=int, required=True)
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--prefix", default="floor-")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        stamps = asyncio.run(run(args.url, args.requests, args.concurrency, args.output_len,
                                 args.input_len, args.prefix))  # fmt: skip
    except (FloorError, OSError) as exc:
        sys.exit(f"floor client: {args.url}: {exc}")
    args.out.write_text(json.dumps({"stamps": stamps}))


if __name__ == "__main__":
    main()
