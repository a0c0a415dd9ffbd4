"""A tiny SSE reader for the simulator's tests (the real client lives in sweeper/client)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Received:
    status: int
    send_ns: int = 0
    chunk_ns: list[int] = field(default_factory=list)
    chunk_texts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    usages: list[dict[str, int]] = field(default_factory=list)
    done: bool = False
    error: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(text.count(" tok") for text in self.chunk_texts)


async def stream(
    session: aiohttp.ClientSession, base: str, path: str, body: dict[str, Any], request_id: str
) -> Received:
    send = time.monotonic_ns()
    async with session.post(base + path, json=body, headers={"x-request-id": request_id}) as resp:
        got = Received(resp.status, send)
        if resp.status != 200:
            got.error = await resp.text()
            return got
        buffer = b""
        try:
            async for data in resp.content.iter_any():
                now = time.monotonic_ns()
                buffer += data
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    _handle(got, event.decode(), now)
        except aiohttp.ClientPayloadError as exc:
            got.error = f"payload error: {exc}"
        return got


def _handle(got: Received, event: str, now: int) -> None:
    assert event.startswith("data: "), event
    payload = event[len("data: ") :]
    if payload == "[DONE]":
        got.done = True
        return
    obj = json.loads(payload)
    got.events.append(obj)
    if obj.get("usage"):
        got.usages.append(obj["usage"])
        got.usage = obj["usage"]
    for choice in obj["choices"]:
        text = choice.get("text")
        if text is None:
            text = choice.get("delta", {}).get("content") or ""
        if text:
            got.chunk_ns.append(now)
            got.chunk_texts.append(text)
        if choice.get("finish_reason"):
            got.finish_reason = choice["finish_reason"]
