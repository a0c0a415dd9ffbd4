"""Minimal blocking OpenAI-API calls for the vLLM tests (the benchmark client is tested
elsewhere; these check the server itself)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def post(url: str, body: dict[str, Any] | None = None, timeout: float = 120) -> bytes:
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def stream(url: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """POST with stream=true; (content chunks, usage) from the SSE events."""
    payload = {**body, "stream": True, "stream_options": {"include_usage": True}}
    chunks: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    for line in post(url, payload).decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if event.get("usage"):
            usage = event["usage"]
        if event.get("choices"):
            chunks.append(event["choices"][0])
    return chunks, usage


def metric_total(base_url: str, name: str) -> float:
    """Sum of a metric's samples over label sets, from GET /metrics."""
    total = 0.0
    for line in get(base_url + "/metrics").decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total
