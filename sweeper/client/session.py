"""The run's plumbing around the requests: the one aiohttp session (byte-arrival protocol,
request-written signal), request headers, the paused garbage collector and the event-loop
lag sampler."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from instruments.errors import ConfigError
from instruments.rxstamp import open_socket
from sweeper.client.arrival import install as install_arrival_clock
from sweeper.client.config import LoadConfig
from sweeper.records import RequestRecord

_now = time.monotonic_ns


async def watch_loop(lags: list[float], stop: asyncio.Event, period_ms: float) -> None:
    """Sample the event loop's delay: how late a sleep of `period_ms` wakes up (0: no sampler;
    each tick is a wake-up of the loop, which an idle client would otherwise not have)."""
    if period_ms <= 0:
        return
    period_ns = int(period_ms * 1e6)
    while not stop.is_set():
        t = _now()
        await asyncio.sleep(period_ns / 1e9)
        lags.append(max(_now() - t - period_ns, 0) / 1e6)


async def end_watch(stop: asyncio.Event, watcher: asyncio.Task[None]) -> None:
    """Stop the lag sampler now: awaited to its next tick, it held every job up to a period
    (0.1 s) after its last response. The tick it was in is not a sample."""
    stop.set()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher


def auth_headers(load: LoadConfig) -> dict[str, str]:
    """Static headers of every request; the API key is read from the env var named by the config."""
    headers = {"Content-Type": "application/json", **load.headers}
    if load.api_key_env:
        key = os.environ.get(load.api_key_env)
        if not key:
            raise ConfigError(f"load.api_key_env: environment variable {load.api_key_env} is unset")
        headers["Authorization"] = f"Bearer {key}"
    return headers


@contextmanager
def paused_gc() -> Iterator[None]:
    """No collector pauses while requests are in flight. What exists now is frozen, not
    collected first: a full pass over a process that has imported MLflow, pandas and Hydra takes
    about 0.3 s a job, and the garbage it would free is collected after the run anyway."""
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()


def open_session(load: LoadConfig, cap: int | None) -> aiohttp.ClientSession:
    """The run's one session; its connector holds `cap` connections (unbounded without a cap)."""
    connector = aiohttp.TCPConnector(
        limit=cap or 0,
        limit_per_host=cap or 0,
        keepalive_timeout=60,
        force_close=False,
        # sockets whose reads carry the kernel's arrival stamp (instruments.rxstamp)
        socket_factory=open_socket,
    )
    install_arrival_clock(connector)
    # total bounds a request's whole time (heartbeats cannot keep it alive); sock_read the
    # silence between two reads
    timeout = aiohttp.ClientTimeout(
        total=load.request_timeout_s, sock_read=load.idle_timeout_s, sock_connect=30
    )
    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(_request_written)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, trace_configs=[trace])


async def _request_written(session: Any, ctx: Any, params: Any) -> None:
    """aiohttp's request-chunk-sent signal, sent just before the chunk is handed to the socket
    (the buffered headers go with the first one): the request leaves now."""
    rec = ctx.trace_request_ctx
    if isinstance(rec, RequestRecord) and not rec.t_send_ns:
        rec.t_send_ns = _now()
