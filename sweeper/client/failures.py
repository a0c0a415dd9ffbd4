"""What a failed request is recorded as (`RequestRecord.error`, `reason: detail`), and which
failures mean the server is gone.

Every way one response can go wrong ends that request only: the reason is the text before the
first colon (`sweeper.metrics` counts them in `errors_by_reason`).
  timeout              the whole request took longer than load.request_timeout_s
  idle_timeout         no byte for load.idle_timeout_s
  connect_error        no connection (refused, unreachable, connect timeout)
  server_disconnected  the connection closed or was reset before or during the response
  incomplete_response  the body ended early or its chunked framing is broken
  bad_event            an event (or body) that is not JSON or not of the protocol's shape
  event_too_large      an event (or body) over load.max_event_bytes
  http_<status>        a non-200 answer (the start of its body, whatever its type)
  server_error         a 200 stream that carried an error object
"""

from __future__ import annotations

import aiohttp

from sweeper.client.backends.base import StreamError

# what a backend may raise on an event it cannot read: invalid JSON (ValueError) or valid JSON of
# the wrong shape (`null`, `123`, `[1]`, `{"choices": null}`: the other four)
EVENT_FAULTS = (ValueError, TypeError, AttributeError, KeyError, IndexError)

# what a request's failure is recorded as, by exception type (first match wins in failure_text:
# the aiohttp timeouts are also ClientErrors, some ClientErrors are also ValueErrors)
REQUEST_FAILURES = (StreamError, TimeoutError, aiohttp.ClientError, ValueError)

# no HTTP answer came at all: a run of these in a row means the server is gone
# (a stream cut after its headers came is not one: the server was there)
NO_ANSWER = (aiohttp.ClientConnectorError, aiohttp.ClientOSError, aiohttp.ServerDisconnectedError,
             aiohttp.ConnectionTimeoutError)  # fmt: skip


class BadEvent(StreamError):
    """An event the backend could not read: `bad_event: <why>; event <first bytes>`."""

    def __init__(self, exc: BaseException, event: bytes) -> None:
        head = bytes(event[:80])
        more = "…" if len(event) > 80 else ""
        super().__init__(f"bad_event: {type(exc).__name__}: {exc}; event {head!r}{more}")


def failure_text(exc: BaseException, request_timeout_s: float, idle_timeout_s: float | None) -> str:
    """`RequestRecord.error` for a request that raised `exc`."""
    if isinstance(exc, StreamError):
        return str(exc)
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return f"idle_timeout: no byte for {idle_timeout_s:g} s"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"connect_error: no connection within the connect timeout ({exc})"
    if isinstance(exc, TimeoutError):
        return f"timeout: not done within load.request_timeout_s={request_timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect_error: {exc}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server_disconnected: connection closed mid-response"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"server_disconnected: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"incomplete_response: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        # the HTTP parser gave up on the response (a broken chunked framing, a bad header)
        return f"incomplete_response: {' '.join(str(exc.message).split())[:200]}"
    if isinstance(exc, aiohttp.ClientError):
        return f"{type(exc).__name__}: {exc}"
    return f"bad_event: {type(exc).__name__}: {exc}"
