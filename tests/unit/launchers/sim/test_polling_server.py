"""Connections of a runner with `install_poll` run the poll before parsing their bytes."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp import web

from launchers.sim.polling_server import install_poll


def test_poll_runs_before_each_request_is_parsed() -> None:
    calls: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        calls.append("handler")
        return web.Response(text="hi")

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        install_poll(runner, lambda: calls.append("poll"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(3):
                    async with session.get(f"http://127.0.0.1:{port}/") as resp:
                        assert await resp.text() == "hi"
        finally:
            await runner.cleanup()

    asyncio.run(run())
    assert calls.count("handler") == 3
    assert calls.count("poll") >= 3
    assert calls[0] == "poll"  # before the first request reached its handler
