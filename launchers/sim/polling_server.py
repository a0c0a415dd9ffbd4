"""Keeps the step clock on time while bursts of HTTP requests are parsed.

asyncio runs every callback that became ready in one loop iteration before it looks at timers
again; with hundreds of sockets readable at once (a wave of arrivals) one iteration can take tens of
milliseconds of parsing. The engine's step timer would wait behind all of it. So every connection's
`data_received` first runs a step whose deadline has passed (`EngineLoop.poll`, a clock read when
nothing is due), and a due step waits for at most one connection's parsing.

aiohttp builds one `RequestHandler` per connection from the runner's `Server`; we give that server
a subclass whose handlers poll. Only `web.Server.__call__` is overridden.

The same handlers note when a request's first bytes arrived (the kernel's receive stamp,
`instruments.rxstamp`): that is the request's arrival in the ground truth, so time the request spent
waiting for the loop to parse it counts as server time, as it would in vLLM's API server.
`arrival_ns(request)` reads it; the `clear_arrival` middleware forgets it once the response is
done, so the next request on the connection is stamped by its own first bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from instruments.rxstamp import arrival_ns as rx_arrival_ns
from instruments.rxstamp import socket_fd


def install_poll(runner: web.AppRunner, poll: Callable[[], None]) -> None:
    """Make the connections of `runner` (after `setup()`) call `poll` before parsing bytes."""

    class PollingRequestHandler(RequestHandler):
        __slots__ = ("rx_fd", "rx_start_ns")

        def connection_made(self, transport: Any) -> None:
            # a wave of new connections is set up in one loop iteration too
            poll()
            self.rx_fd = socket_fd(transport)
            self.rx_start_ns = 0
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not self.rx_start_ns:
                self.rx_start_ns = rx_arrival_ns(self.rx_fd)
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


def arrival_ns(request: web.Request) -> int:
    """When the request's first bytes reached the server (now, without the polling handler)."""
    return getattr(request.protocol, "rx_start_ns", 0) or time.monotonic_ns()


@web.middleware
async def clear_arrival(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Forget the connection's arrival stamp once the handler is done with its request."""
    try:
        return await handler(request)
    finally:
        if hasattr(request.protocol, "rx_start_ns"):
            request.protocol.rx_start_ns = 0
