"""Load a page in headless Chromium (Debian's `chromium`) over the DevTools protocol and collect
console errors and uncaught exceptions. Chromium runs in its own process group, always reaped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers.processes import Spawned

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--remote-debugging-port=0",
)


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)
    value: Any = None
    # every URL the page asked for (the page itself included)
    requests: list[str] = field(default_factory=list)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium(binary: str) -> Iterator[str]:
    """Start Chromium; yield its browser DevTools websocket URL; reap its process group."""
    with tempfile.TemporaryDirectory(prefix="sweeper-chromium-") as profile:
        argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
        with Spawned(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, grace_s=10
        ) as browser:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
                if browser.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chromium did not start (exit {browser.proc.poll()})")
                time.sleep(0.05)
            port = port_file.read_text().splitlines()[0]
            yield f"http://127.0.0.1:{port}"


class DevTools:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    async def wait_for(self, method: str, timeout: float) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive_json()
                self.events.append(msg)
                if msg.get("method") == method:
                    return


def error_text(event: dict[str, Any]) -> str | None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return "exception: " + str(
            details.get("exception", {}).get("description") or details.get("text")
        )
    if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
        return "console.error: " + " ".join(
            str(a.get("value", a.get("description"))) for a in params.get("args", [])
        )
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        return "log: " + str(params["entry"].get("text"))
    return None


async def inspect_page(base: str, page: Path | str, expression: str, settle_s: float) -> PageResult:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/json/list") as resp:
            targets = await resp.json()
        target = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            for domain in ("Runtime", "Log", "Page", "Network"):
                await tools.call(f"{domain}.enable")
            url = page if isinstance(page, str) else page.resolve().as_uri()
            await tools.call("Page.navigate", url=url)
            await tools.wait_for("Page.loadEventFired", timeout=60)
            await asyncio.sleep(settle_s)
            result = await tools.call("Runtime.evaluate", expression=expression, returnByValue=True)
            errors = [e for e in map(error_text, tools.events) if e]
            value = result.get("result", {}).get("value")
            requests = [
                e["params"]["request"]["url"]
                for e in tools.events
                if e.get("method") == "Network.requestWillBeSent"
            ]
            return PageResult(
                errors, json.loads(value) if isinstance(value, str) else value, requests
            )


def load_page(binary: str, page: Path | str, expression: str, settle_s: float = 1.0) -> PageResult:
    """Open `page` (a file, or a URL), let it settle, evaluate `expression` (JSON string
    result) and return it with every console error / uncaught exception seen."""
    with chromium(binary) as base:
        return asyncio.run(inspect_page(base, page, expression, settle_s))
