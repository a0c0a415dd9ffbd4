"""A fake OpenAI-compatible `/v1/completions` SSE server with per-request ground truth.

It does the least a server can (pre-encoded events, one write per token, no JSON per token) so a
client's CPU and timing are what the bench sees. For every request (keyed by its `x-request-id`)
it keeps the monotonic ns at which the request was read, the first content event was handed to
the socket and the last event was; `GET /bench/truth` returns and clears them, with the last
time a connection closed. TTFT error of a
client = its first-token stamp - the first write here (one host, one CLOCK_MONOTONIC).

    python -m sweeper.bench.fake_server --port 8123 --ttft-ms 50 --itl-ms 5

Latency 0 (the default) streams every token at once, the streams interleaved one event per turn
of the loop (as a batched engine's steps would). Only what the two benchmarked clients send is
understood: HTTP/1.1 keep-alive, a JSON body with `max_tokens`, `stream`, `stream_options`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

_now = time.monotonic_ns
_HEAD_END = b"\r\n\r\n"
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    """One HTTP chunk holding `data`."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _json_response(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: keep-alive\r\n\r\n%s" % (len(body), body)
    )


class Truth:
    """request id -> [read_ns, first_write_ns, last_write_ns, tokens], and when a connection
    last closed (a client closes its connections once it has read every response: the end of
    its run)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = {}
        self.last_close_ns = 0


class BenchProtocol(asyncio.Protocol):
    def __init__(self, truth: Truth, ttft_s: float, itl_s: float) -> None:
        self.truth = truth
        self.ttft_s = ttft_s
        self.itl_s = itl_s
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.truth.last_close_ns = _now()
        if self.busy is not None:
            self.busy.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.busy is None:
            self._next()

    def _next(self) -> None:
        """Start the next complete request in the buffer (one at a time per connection)."""
        end = self.buf.find(_HEAD_END)
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1").split("\r\n")
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        method, path, _ = head[0].split(" ", 2)
        self.busy = asyncio.ensure_future(self._answer(method, path, fields, body, _now()))
        self.busy.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.busy = None
        if self.transport is not None and self.buf:
            self._next()

    async def _answer(
        self, method: str, path: str, fields: dict[str, str], body: bytes, read_ns: int
    ) -> None:
        transport = self.transport
        assert transport is not None
        if path.startswith("/bench/truth"):
            rows, self.truth.rows = self.truth.rows, {}
            transport.write(
                _json_response({"requests": rows, "last_close_ns": self.truth.last_close_ns})
            )
        elif method == "POST" and path.startswith("/v1/completions"):
            await self._stream(json.loads(body), fields.get("x-request-id", ""), read_ns)
        else:  # /health, /v1/models, anything else
            transport.write(_json_response({"object": "list", "data": [{"id": "bench"}]}))

    async def _stream(self, req: dict, request_id: str, read_ns: int) -> None:
        transport = self.transport
        assert transport is not None
        tokens = int(req.get("max_tokens") or 16)
        options = req.get("stream_options") or {}
        continuous = bool(options.get("continuous_usage_stats"))
        row = [read_ns, 0, 0, tokens]
        if request_id:
            self.truth.rows[request_id] = row
        base = {"id": "cmpl-bench", "object": "text_completion", "created": 0, "model": "bench"}
        plain = _chunk(
            b"data: %s\n\n"
            % json.dumps(
                {
                    **base,
                    "choices": [
                        {
                            "index": 0,
                            "text": " hi",
                            "logprobs": None,
                            "finish_reason": None,
                            "stop_reason": None,
                        }
                    ],
                }
            ).encode()
        )
        transport.write(_SSE_HEAD)
        await asyncio.sleep(self.ttft_s)
        for i in range(tokens):
            if continuous:  # the running count changes: this event is built per token
                usage = {"prompt_tokens": 1, "completion_tokens": i + 1, "total_tokens": i + 2}
                event = _chunk(
                    b"data: %s\n\n"
                    % json.dumps(
                        {
                            **base,
                            "choices": [
                                {"index": 0, "text": " hi", "logprobs": None, "finish_reason": None}
                            ],
                            "usage": usage,
                        }
                    ).encode()
                )
            else:
                event = plain
            if self.transport is None:
                return
            if i == 0:
                row[1] = _now()
            transport.write(event)
            await asyncio.sleep(self.itl_s)
        if options.get("include_usage"):
            usage = {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}
            transport.write(
                _chunk(
                    b"data: %s\n\n" % json.dumps({**base, "choices": [], "usage": usage}).encode()
                )
            )
        row[2] = _now()
        transport.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


async def serve(port: int, ttft_ms: float, itl_ms: float) -> None:
    loop = asyncio.get_running_loop()
    truth = Truth()
    server = await loop.create_server(
        lambda: BenchProtocol(truth, ttft_ms / 1e3, itl_ms / 1e3), "127.0.0.1", port, backlog=4096
    )
    print(f"fake server on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--itl-ms", type=float, default=0.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.ttft_ms, args.itl_ms))


if __name__ == "__main__":
    main()
