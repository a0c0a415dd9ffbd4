"""A small in-process OpenAI-compatible streaming server for client tests.

It streams `max_tokens` tokens ("t0 t1 ...") with configurable delays, tokens per chunk,
per-chunk usage (continuous_usage_stats), role-only chat chunks and failure modes, and keeps what
it saw (headers, bodies, in-flight peak, monotonic write times per request id) for assertions.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeBehaviour:
    ttft_s: float = 0.0
    itl_s: float = 0.0
    tokens_per_chunk: int = 1
    # honour stream_options.continuous_usage_stats
    continuous_usage: bool = True
    # send the final usage-only chunk
    final_usage: bool = True
    # request indexes (by arrival order) answered with HTTP 500
    fail_http: set[int] = field(default_factory=set)
    # request indexes whose connection is cut after the first chunk
    cut_after_first: set[int] = field(default_factory=set)
    # request indexes that stall this many seconds after the first chunk
    stall_after_first: set[int] = field(default_factory=set)
    stall_s: float = 0.0
    # write each SSE event in two halves (split across TCP writes), CRLF line ends
    split_events: bool = False
    crlf: bool = False


@dataclass
class Seen:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    # request id -> (arrival ns, first and last chunk handed to the transport, ns)
    truth: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    connections: set[int] = field(default_factory=set)


class FakeOpenAI:
    def __init__(self, behaviour: FakeBehaviour | None = None) -> None:
        self.behaviour = behaviour or FakeBehaviour()
        self.seen = Seen()
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/generate", self.generate)
        app.router.add_get("/v1/models", self.models)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "fake", "root": "fake"}]})

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, chat=False)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, chat=True)

    async def generate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._arrive(request, body)
        n = int(body.get("max_tokens", 4))
        await asyncio.sleep(self.behaviour.ttft_s)
        if not body.get("stream"):
            self.seen.in_flight -= 1
            text = "".join(f"t{i} " for i in range(n))
            return web.json_response({"data": {"text": text, "num_tokens": n}})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(n):
            event = {"data": {"text": f"t{i} ", "num_tokens": i + 1, "finished": i == n - 1}}
            await resp.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            await asyncio.sleep(self.behaviour.itl_s)
        self.seen.in_flight -= 1
        await resp.write_eof()
        return resp

    def _arrive(self, request: web.Request, body: dict[str, Any]) -> int:
        index = len(self.seen.bodies)
        self.seen.bodies.append(body)
        self.seen.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.seen.in_flight += 1
        self.seen.peak_in_flight = max(self.seen.peak_in_flight, self.seen.in_flight)
        transport = request.transport
        if transport is not None:
            self.seen.connections.add(id(transport))
        return index

    async def _serve(self, request: web.Request, chat: bool) -> web.StreamResponse:
        arrival = time.monotonic_ns()
        body = await request.json()
        index = self._arrive(request, body)
        b = self.behaviour
        rid = request.headers.get("x-request-id", "")
        try:
            if index in b.fail_http:
                return web.json_response({"error": {"message": "boom"}}, status=500)
            n = int(body.get("max_tokens") or body.get("max_completion_tokens") or 4)
            if not body.get("stream"):
                await asyncio.sleep(b.ttft_s + b.itl_s * (n - 1))
                text = "".join(f"t{i} " for i in range(n))
                choice = {"message": {"content": text}} if chat else {"text": text}
                usage = {"prompt_tokens": 3, "completion_tokens": n}
                return web.json_response({"choices": [choice], "usage": usage})
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            continuous = b.continuous_usage and (body.get("stream_options") or {}).get(
                "continuous_usage_stats"
            )
            if chat:
                await self._event(
                    resp,
                    {
                        "choices": [{"delta": {"role": "assistant", "content": ""}}],
                        **({"usage": _usage(0)} if continuous else {}),
                    },
                )
            await asyncio.sleep(b.ttft_s)
            sent, first, last = 0, 0, 0
            while sent < n:
                k = min(b.tokens_per_chunk, n - sent)
                text = "".join(f"t{i} " for i in range(sent, sent + k))
                sent += k
                choice = {"delta": {"content": text}} if chat else {"text": text}
                event: dict[str, Any] = {"choices": [choice]}
                if continuous:
                    event["usage"] = _usage(sent)
                # taken before the write, like the simulator's ground truth
                last = time.monotonic_ns()
                first = first or last
                await self._event(resp, event)
                if index in b.stall_after_first:
                    await asyncio.sleep(b.stall_s)
                if index in b.cut_after_first:
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                if sent < n:
                    await asyncio.sleep(b.itl_s)
            if b.final_usage:
                await self._event(resp, {"choices": [], "usage": _usage(n)})
            await self._raw(resp, b"data: [DONE]\n\n")
            await resp.write_eof()
            self.seen.truth[rid] = (arrival, first, last)
            return resp
        finally:
            self.seen.in_flight -= 1

    async def _event(self, resp: web.StreamResponse, event: dict[str, Any]) -> None:
        await self._raw(resp, b"data: " + json.dumps(event).encode() + b"\n\n")

    async def _raw(self, resp: web.StreamResponse, data: bytes) -> None:
        if self.behaviour.crlf:
            data = data.replace(b"\n", b"\r\n")
        if self.behaviour.split_events:
            half = len(data) // 2
            await resp.write(data[:half])
            await asyncio.sleep(0.001)
            await resp.write(data[half:])
        else:
            await resp.write(data)


def _usage(n: int) -> dict[str, int]:
    return {"prompt_tokens": 3, "completion_tokens": n, "total_tokens": n + 3}
