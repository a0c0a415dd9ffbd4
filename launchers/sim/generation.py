"""The /v1/completions and /v1/chat/completions handlers: parse, queue in the engine, stream."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import TYPE_CHECKING

from aiohttp import web

from launchers.sim.faults import FAULT_MESSAGES, FaultPlan
from launchers.sim.ground_truth import RequestTruth
from launchers.sim.kv_cache import block_hashes
from launchers.sim.openai_api import ApiError, ParsedRequest, ResponseShaper, parse_request
from launchers.sim.polling_server import arrival_ns
from launchers.sim.scheduler import SimRequest
from launchers.sim.sse_sink import StreamSink

if TYPE_CHECKING:
    from launchers.sim.state import SimState

log = logging.getLogger("launchers.sim")

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
CRASH_EXIT_CODE = 70


def error_response(truth: RequestTruth, error: ApiError) -> web.Response:
    truth.status = error.status
    truth.error = error.message
    truth.finish_ns = time.monotonic_ns()
    return web.json_response(error.body(), status=error.status)


def open_request(request: web.Request) -> tuple[SimState, RequestTruth]:
    """A request's ground truth, from its arrival (first bytes read); a due step runs first."""
    state: SimState = request.app["sim"]
    state.engine.poll()
    request_id = request.headers.get("x-request-id")
    truth = state.truth.new(request_id, request.path, arrival_ns(request))
    state.num_received += 1
    return state, truth


async def handle_generation(request: web.Request, chat: bool) -> web.StreamResponse:
    state, truth = open_request(request)
    crash_after = state.params.crash_after
    if crash_after and state.num_received > crash_after:
        log.error("simulated crash after %d requests (fault injection)", crash_after)
        os._exit(CRASH_EXIT_CODE)
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(truth, ApiError(400, "The request body is not valid JSON."))
    try:
        parsed = await _parse(state, body, chat, truth.request_id)
    except ApiError as error:
        return error_response(truth, error)
    truth.stream = parsed.stream
    truth.prompt_tokens = len(parsed.prompt_keys)
    truth.max_tokens = parsed.max_tokens
    chunks = -(-parsed.target_output // state.params.tokens_per_chunk)
    fault = state.faults.plan(truth.request_id, chunks)
    if fault.status:
        truth.fault = fault.label
        return error_response(truth, ApiError(fault.status, FAULT_MESSAGES[fault.status]))
    caching = state.params.enable_prefix_caching
    hashes = block_hashes(parsed.prompt_keys, state.params.block_size) if caching else []
    req = SimRequest(
        request_id=truth.request_id,
        prompt_len=len(parsed.prompt_keys),
        target_output=parsed.target_output,
        final_reason=parsed.final_reason,
        arrival_ns=truth.arrival_ns,
        block_hashes=hashes,
        priority=parsed.priority,
        tail_keys=parsed.prompt_keys[len(hashes) * state.params.block_size :] if caching else [],
        output_keys=state.output_keys if caching else [],
        num_reasoning=state.params.reasoning_tokens if chat else 0,
        wake_every=state.params.tokens_per_chunk if parsed.stream else 1 << 62,
    )
    params = state.params
    shaper = ResponseShaper(
        chat,
        state.model_name,
        params.output_token_text,
        req.prompt_len,
        params.reasoning_tokens,
        params.enable_prompt_tokens_details,
    )
    state.engine.poll()
    state.engine.add(req)
    try:
        if parsed.stream:
            return await _stream(request, state, req, parsed, shaper, truth, fault)
        await _wait(req, state)
        truth.first_chunk_ns = truth.finish_ns = time.monotonic_ns()
        truth.chunk_ns.append(truth.first_chunk_ns)
        truth.chunk_tokens.append(req.num_output)
        reason = req.finish_reason or "abort"
        return web.json_response(shaper.full(req.num_output, reason, req.cached_tokens))
    finally:
        if not req.done:
            state.engine.abort(req)
        _copy_engine_facts(req, truth)


async def _parse(state: SimState, body: object, chat: bool, request_id: str) -> ParsedRequest:
    def run() -> ParsedRequest:
        return parse_request(
            body,
            chat=chat,
            request_id=request_id,
            served_model=state.model_name,
            max_model_len=state.params.max_model_len,
            output_len_mean=state.params.output_len_mean,
            seed=state.params.seed,
            tokenizer=state.tokenizer,
            priority_enabled=state.params.scheduling_policy == "priority",
        )

    if state.tokenizer.exact:  # a real tokenizer is slow: keep it off the event loop
        return await asyncio.get_running_loop().run_in_executor(None, run)
    return run()


def _copy_engine_facts(req: SimRequest, truth: RequestTruth) -> None:
    truth.output_tokens = req.num_output
    truth.cached_tokens = req.cached_tokens
    truth.num_preemptions = req.num_preemptions
    truth.scheduled_ns = req.scheduled_ns
    truth.first_token_ns = req.first_token_ns
    if truth.finish_reason is None:
        truth.finish_reason = req.finish_reason


async def _wait(req: SimRequest, state: SimState) -> None:
    loop = asyncio.get_running_loop()
    while not req.done:
        req.waiter = loop.create_future()
        try:
            await req.waiter
        finally:
            req.waiter = None
        if state.stopping:
            break


async def _stream(
    request: web.Request,
    state: SimState,
    req: SimRequest,
    parsed: ParsedRequest,
    shaper: ResponseShaper,
    truth: RequestTruth,
    fault: FaultPlan,
) -> web.StreamResponse:
    resp = web.StreamResponse(headers=SSE_HEADERS)
    resp.enable_chunked_encoding()
    await resp.prepare(request)  # sends the headers at once
    transport = request.transport
    truth.fault = fault.label
    if transport is None or transport.is_closing():
        truth.error, truth.finish_reason, truth.status = "client disconnected", "abort", 499
        return resp
    # aiohttp's body writer notes the end of the body in `_eof`; where it has that flag, the sink
    # writes the terminating chunk with the last token and the flag is set here afterwards
    writer = getattr(resp, "_payload_writer", None)
    end_body = isinstance(getattr(writer, "_eof", None), bool)
    sink = StreamSink(
        transport, shaper, truth, fault, parsed.continuous_usage, parsed.include_usage, end_body
    )
    req.sink = sink
    if req.pending:  # tokens produced while the headers were going out
        sink(req)
    try:
        outcome = await sink.finished
    finally:
        req.sink = None
    # many streams end in the same step: let a due step run between their endings
    state.engine.poll()
    if outcome == "cut":
        truth.error = "stream cut (fault injection)"
        truth.finish_reason = "cut"
        state.engine.abort(req)
        transport.close()
        return resp
    if outcome == "disconnected":
        truth.error, truth.finish_reason, truth.status = "client disconnected", "abort", 499
        return resp
    if outcome != "finished":
        truth.error = "server stopping"
        return resp
    try:
        if end_body:
            writer._eof = True  # type: ignore[union-attr]  # the sink ended the body
        await resp.write_eof()
        truth.finish_ns = truth.finish_ns or time.monotonic_ns()
    except ConnectionResetError:
        truth.error, truth.finish_reason, truth.status = "client disconnected", "abort", 499
    return resp
