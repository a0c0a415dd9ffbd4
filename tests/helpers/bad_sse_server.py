"""An OpenAI-like server whose streams go wrong on purpose, for the fault-injection suite.

python -m tests.helpers.bad_sse_server PORT [--argv-out PATH] [--model NAME] [--modes a,b,...]
    [--require-key-env NAME] [--crash-after N] [--delay-s S] [--huge-mib M]

Request number i (0-based) of /v1/completions gets mode `modes[i % len(modes)]`:
  good         a well-formed vLLM stream: 4 chunks with continuous usage, usage chunk, [DONE]
  malformed    an SSE event whose data is not JSON, in the middle of the stream
  truncated    the stream ends inside a JSON event (the chunked body itself ends cleanly)
  no_usage     a well-formed stream without any usage field, then [DONE]
  wrong_shape  valid JSON of the wrong shape mid-stream: WRONG_SHAPES[i % len(WRONG_SHAPES)]
  heartbeat    one token, then `: keepalive` every 0.5 s, forever (as proxies and gateways do)
  huge_line    one token, then one `data:` line of --huge-mib MiB (default 256), then the rest
  broken_chunk one token, then bytes that are not chunked framing, then the connection closes
  html_502     HTTP 502 with an HTML body (a gateway's error page, not JSON)
  html_200     HTTP 200, Content-Type text/html, an HTML body (not JSON, not SSE)
  stall        headers and one token, then nothing with the connection open
  slow_headers nothing for --delay-s seconds (default 30), then a good stream
  http_429     HTTP 429 with a JSON error
  http_500     HTTP 500 with a JSON error
--crash-after N: the server process exits (os._exit) when request N+1 arrives, before answering.
--argv-out writes this process's argv as JSON (to check that values reach argv verbatim).
--require-key-env answers 401 unless `Authorization: Bearer $NAME` (the key from its env) came.

For tests: `running_bad_server(*args, log=…)` runs it as a process; `run_cases` runs one
`python -m sweeper server=external …` per `Case` against its own such server, all at once:

    outcomes = run_cases({"shape": Case(("--modes", "good,wrong_shape"), ("num_prompts=40",))},
                         tmp_path)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from launchers.process import free_port
from tests.helpers.cli import Sweep
from tests.helpers.processes import Spawned

CHUNKS = 4
# loopback calls must not go through an http_proxy from the environment
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
HEARTBEAT_S = 0.5
WRONG_SHAPES = (b"123", b"[1]", b"null", b'"text"', b'{"choices": [null]}', b'{"usage": 5}',
                b'{"choices": "abc"}', b'{"choices": [{"delta": 1, "text": 7}]}')  # fmt: skip
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"


def chunk(text: str, usage: int | None, finish: str | None = None) -> bytes:
    data: dict[str, object] = {
        "id": "cmpl-bad",
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }
    if usage is not None:
        data["usage"] = {"prompt_tokens": 1, "completion_tokens": usage, "total_tokens": usage + 1}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def usage_chunk(n: int) -> bytes:
    usage = {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}
    return b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n"


def exit_now() -> None:
    os._exit(1)


@dataclass
class Faults:
    modes: list[str]
    crash_after: int | None = None
    delay_s: float = 30.0
    huge_mib: int = 256
    # what "the server dies" does (in a test's own process: stop listening instead)
    crash: Callable[[], None] = exit_now


async def stream(request: web.Request, mode: str, n: int, faults: Faults) -> web.StreamResponse:
    """A 200 SSE stream, spoiled by `mode` (request number `n`)."""
    if mode == "slow_headers":
        await asyncio.sleep(faults.delay_s)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    usage = mode != "no_usage"
    for i in range(1, CHUNKS + 1):
        if i == 2 and await spoil(request, resp, mode, n, faults):
            return resp
        if mode == "malformed" and i == 3:
            await resp.write(b'data: {"choices": [{"text": oops not json}\n\n')
            continue
        if mode == "truncated" and i == 3:
            await resp.write(chunk(" tok", i if usage else None)[:25])
            await resp.write_eof()
            return resp
        finish = "length" if i == CHUNKS else None
        await resp.write(chunk(" tok", i if usage else None, finish))
    if usage:
        await resp.write(usage_chunk(CHUNKS))
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def spoil(
    request: web.Request, resp: web.StreamResponse, mode: str, n: int, faults: Faults
) -> bool:
    """After the first token: the mode's fault. True when the response is over."""
    if mode == "wrong_shape":
        await resp.write(b"data: " + WRONG_SHAPES[n % len(WRONG_SHAPES)] + b"\n\n")
    elif mode == "heartbeat":
        while True:
            await resp.write(b": keepalive\n\n")
            await asyncio.sleep(HEARTBEAT_S)
    elif mode == "stall":
        await asyncio.sleep(3600)
    elif mode == "huge_line":
        block = b"x" * (1 << 20)
        await resp.write(b'data: {"choices": [{"text": "')
        for _ in range(faults.huge_mib):
            await resp.write(block)
        await resp.write(b'"}]}\n\n')
    elif mode == "broken_chunk":
        # not a hex chunk size: what a proxy that mangles the framing sends
        assert request.transport is not None
        request.transport.write(b"zz-not-a-size\r\ngarbage\r\n")
        request.transport.close()
        return True
    return False


def build_app(model: str, faults: Faults, key: str | None = None) -> web.Application:
    counter = {"n": 0}

    async def health(request: web.Request) -> web.Response:
        return web.json_response({})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": model, "object": "model"}]})

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"error": "missing or wrong API key"}, status=401)
        n = counter["n"]
        counter["n"] += 1
        if faults.crash_after is not None and n >= faults.crash_after:
            faults.crash()
            if request.transport is not None:
                request.transport.close()  # no answer, as from a dead process
            return web.Response()
        mode = faults.modes[n % len(faults.modes)]
        if mode.startswith("http_"):
            status = int(mode[5:])
            return web.json_response({"error": {"message": f"injected {status}"}}, status=status)
        if mode == "html_502":
            return web.Response(body=HTML, status=502, content_type="text/html")
        if mode == "html_200":
            return web.Response(body=HTML, status=200, content_type="text/html")
        try:
            return await stream(request, mode, n, faults)
        except (ConnectionError, RuntimeError):
            # the client gave up on this stream (timeout, event too large): nothing to answer
            return web.Response()

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/completions", completions)
    return app


MODES = (
    *("good", "malformed", "truncated", "no_usage", "wrong_shape", "heartbeat", "huge_line"),
    *("broken_chunk", "html_502", "html_200", "stall", "slow_headers", "http_429", "http_500"),
)


@contextmanager
def running_bad_server(*args: str, log: Path, ready_s: float = 30.0) -> Iterator[str]:
    """This server as a process (own group, reaped on exit) with `args`; yields its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.helpers.bad_sse_server", str(port), *args]
    with Spawned(argv, log=log, grace_s=5.0) as child:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + ready_s
        while True:
            try:
                with NO_PROXY.open(base + "/health", timeout=2):
                    break
            except OSError:
                if child.proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-2000:]
                    raise RuntimeError(f"bad_sse_server not up: {tail}") from None
                time.sleep(0.05)
        yield base


# what every case runs with (no report, no tracking, a small known output length)
BASE = ("server=external", "model.name=bad-model", "tracking=none", "report.enabled=false",
        "dataset.output_len=4", "load.progress=false")  # fmt: skip


@dataclass
class Case:
    server_args: tuple[str, ...]
    overrides: tuple[str, ...]


@dataclass
class Outcome:
    returncode: int
    wall_s: float
    output: str
    job_dir: Path

    @property
    def result(self) -> dict[str, Any]:
        return json.loads((self.job_dir / "result.json").read_text())

    @property
    def sweeper(self) -> dict[str, Any]:
        return dict(self.result["sweeper"])

    @property
    def records(self) -> Any:
        """requests.parquet as a DataFrame, by index."""
        import pandas as pd  # here, not at the server's start-up

        return pd.read_parquet(self.job_dir / "requests.parquet").sort_values("index")

    def errors_by_reason(self) -> dict[str, int]:
        return dict(self.sweeper.get("errors_by_reason") or {})


def run_cases(cases: dict[str, Case], root: Path, timeout_s: float = 300) -> dict[str, Outcome]:
    """Start a server and a sweep per case, all at once; wait for every sweep; reap all."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SWEEPER_SWEEP_RUN_ID", None)
    with ExitStack() as stack:
        started: dict[str, tuple[Sweep, Spawned, float]] = {}
        for name, case in cases.items():
            (root / name).mkdir(parents=True)
            log = root / name / "bad_server.log"
            url = stack.enter_context(running_bad_server(*case.server_args, log=log))
            sweep = Sweep(root / name)
            argv = sweep.args(*BASE, f"server.base_url={url}", *case.overrides)
            child = Spawned(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            stack.enter_context(child)
            started[name] = (sweep, child, time.monotonic())

        def finish(name: str) -> Outcome:
            sweep, child, t0 = started[name]
            out, _ = child.proc.communicate(timeout=timeout_s)
            wall = time.monotonic() - t0
            return Outcome(child.proc.returncode, wall, out, sweep.root / "run")

        with ThreadPoolExecutor(len(started)) as pool:
            futures = {name: pool.submit(finish, name) for name in started}
            return {name: f.result() for name, f in futures.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--argv-out")
    ap.add_argument("--model", default="bad-model")
    ap.add_argument("--modes", default="good,malformed,truncated,no_usage")
    ap.add_argument("--require-key-env")
    ap.add_argument("--crash-after", type=int)
    ap.add_argument("--delay-s", type=float, default=30.0)
    ap.add_argument("--huge-mib", type=int, default=256)
    args = ap.parse_args()
    key = None
    if args.require_key_env:
        key = os.environ.get(args.require_key_env)
        if not key:
            sys.exit(f"{args.require_key_env} is unset")
    if args.argv_out:
        Path(args.argv_out).write_text(json.dumps(sys.argv[1:]))
    modes = args.modes.split(",")
    unknown = set(modes) - set(MODES)
    if unknown:
        sys.exit(f"unknown modes: {sorted(unknown)}")
    faults = Faults(modes, args.crash_after, args.delay_s, args.huge_mib)
    web.run_app(
        build_app(args.model, faults, key),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
