"""An OpenAI-like server whose streams go wrong on purpose, for the fault-injection suite.

python -m tests.helpers.bad_sse_server PORT [--argv-out PATH] [--model NAME] [--modes a,b,...]
    [--require-key-env NAME]

Request number i (0-based) of /v1/completions gets mode `modes[i % len(modes)]`:
  good        a well-formed vLLM stream: 4 chunks with continuous usage, usage chunk, [DONE]
  malformed   an SSE event whose data is not JSON, in the middle of the stream
  truncated   the stream ends inside a JSON event (the chunked body itself ends cleanly)
  no_usage    a well-formed stream without any usage field, then [DONE]
--argv-out writes this process's argv as JSON (to check that values reach argv verbatim).
--require-key-env answers 401 unless `Authorization: Bearer $NAME` (the key from its env) came.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from aiohttp import web

MODES = ("good", "malformed", "truncated", "no_usage")
CHUNKS = 4


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


def build_app(model: str, modes: list[str], key: str | None = None) -> web.Application:
    counter = {"n": 0}

    async def health(request: web.Request) -> web.Response:
        return web.json_response({})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": model, "object": "model"}]})

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"error": "missing or wrong API key"}, status=401)
        mode = modes[counter["n"] % len(modes)]
        counter["n"] += 1
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        usage = mode != "no_usage"
        for i in range(1, CHUNKS + 1):
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

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/completions", completions)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--argv-out")
    ap.add_argument("--model", default="bad-model")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--require-key-env")
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
    web.run_app(
        build_app(args.model, modes, key),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
