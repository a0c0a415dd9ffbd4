"""Keeps the step clock on time while bursts of HTTP requests are parsed.

asyncio runs every callback that became ready in one loop iteration before it looks at timers
again; with hundreds of sockets readable at once (a wave of arrivals) one iteration can take tens of
milliseconds of parsing. The engine's step timer would wait behind all of it. So every connection's
`data_received` first runs a step whose deadline has passed (`EngineLoop.poll`, a clock read when
nothing is due), and a due step waits for at most one connection's parsing.

aiohttp builds one `RequestHandler` per connection from the runner's `Server`; we give that server
a subclass whose handlers poll. Only `web.Server.__call__` is overridden.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


def install_poll(runner: web.AppRunner, poll: Callable[[], None]) -> None:
    """Make the connections of `runner` (after `setup()`) call `poll` before parsing bytes."""

    class PollingRequestHandler(RequestHandler):
        __slots__ = ()

        def data_received(self, data: bytes) -> None:
            poll()
            super().data_received(data)

    class PollingServer(web.Server):
        def __call__(self) -> RequestHandler:
            return PollingRequestHandler(self, loop=self._loop, **self._kwargs)

    server = runner.server
    if server is None:
        raise RuntimeError("install_poll needs a runner after setup()")
    try:
        server.__class__ = PollingServer
    except TypeError:  # a future aiohttp whose Server has __slots__: run without the poll
        logging.getLogger("launchers.sim").warning(
            "aiohttp's Server cannot be extended; due steps wait for the event loop's timers"
        )
