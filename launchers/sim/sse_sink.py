"""Writes a streaming response's SSE chunks straight from the engine step (no task wake-up per
token): the engine calls the sink of every request that got tokens; the sink frames the chunk
(HTTP chunked encoding, as aiohttp would) and hands it to the transport at once.

The last content chunk goes out in one write with everything that ends the stream: the usage
chunk when asked for, `[DONE]`, and (`end_body`) the empty chunk that ends the HTTP body. A
client that reads late then cannot merge the last token with bytes sent a loop turn later. The
HTTP handler only waits for `finished` and tells aiohttp the body is complete. Faults (a stall, a
cut) are applied here, per chunk.
"""

from __future__ import annotations

import asyncio
import time

from launchers.sim.faults import FaultPlan
from launchers.sim.ground_truth import RequestTruth
from launchers.sim.openai_api import DONE, ResponseShaper
from launchers.sim.scheduler import SimRequest, Status


class StreamSink:
    def __init__(
        self,
        transport: asyncio.Transport,
        shaper: ResponseShaper,
        truth: RequestTruth,
        fault: FaultPlan,
        continuous_usage: bool,
        include_usage: bool = False,
        end_body: bool = False,
    ) -> None:
        self.transport = transport
        self.shaper = shaper
        self.truth = truth
        self.fault = fault
        self.continuous_usage = continuous_usage
        self.include_usage = include_usage
        self.end_body = end_body
        self.loop = asyncio.get_running_loop()
        # resolved once the last token's chunk is out, or the stream ended early
        self.finished: asyncio.Future[str] = self.loop.create_future()
        self.sent_tokens = 0
        self.chunks = 0
        self._stalled = False
        # the plain one-token chunk, content and reasoning (built on first use)
        self._plain_framed: dict[bool, bytes] = {}

    def _end(self, outcome: str) -> None:
        if not self.finished.done():
            self.finished.set_result(outcome)

    def __call__(self, req: SimRequest) -> None:
        """Send what is pending (the engine calls this after a step gave the request tokens)."""
        if self._stalled or self.finished.done() or req.pending == 0:
            return
        if self.transport.is_closing():
            self._end("disconnected")
            return
        fault = self.fault
        if fault.stall_at_chunk and self.chunks + 1 == fault.stall_at_chunk:
            self.fault = FaultPlan()  # stall once
            self._stalled = True
            self.loop.call_later(fault.stall_s, self._resume, req)
            return
        n = req.pending
        req.pending = 0
        reasoning = min(max(self.shaper.reasoning_tokens - self.sent_tokens, 0), n)
        self.sent_tokens += n
        self.chunks += 1
        last = req.status is Status.FINISHED and self.sent_tokens == req.num_output
        if n == 1 and not last and self.chunks > 1 and not self.continuous_usage:
            # the common chunk (one token, mid-stream) is the same bytes every time
            framed = self._plain_framed.get(reasoning > 0)
            if framed is None:
                data = self.shaper.chunk(
                    1, None, first=False, usage_tokens=None, reasoning=reasoning
                )
                framed = self._plain_framed[reasoning > 0] = _frame(data)
        else:
            framed = self._special_chunk(req, n, last, reasoning)
        truth = self.truth
        now = time.monotonic_ns()
        if self.chunks == 1:
            truth.first_chunk_ns = now
        truth.chunk_ns.append(now)
        truth.chunk_tokens.append(n)
        self.transport.write(framed)
        if last:
            if self.end_body:
                truth.finish_ns = now
            self._end("finished")
        elif fault.cut_after_chunks and self.chunks == fault.cut_after_chunks:
            self._end("cut")

    def _special_chunk(self, req: SimRequest, n: int, last: bool, reasoning: int) -> bytes:
        """A chunk unlike the plain one: the first, several tokens, usage in every chunk, or the
        last (in one write with the usage chunk, `[DONE]` and the body's end)."""
        data = self.shaper.chunk(
            n,
            req.finish_reason if last else None,
            first=self.chunks == 1,
            usage_tokens=self.sent_tokens if self.continuous_usage else None,
            reasoning=reasoning,
        )
        framed = _frame(data)
        if last:
            if self.include_usage:
                framed += _frame(self.shaper.usage_chunk(self.sent_tokens, req.cached_tokens))
            framed += _frame(DONE)
            if self.end_body:
                framed += b"0\r\n\r\n"
        return framed

    def _resume(self, req: SimRequest) -> None:
        self._stalled = False
        if req.pending and (req.pending >= req.wake_every or req.done):
            self(req)

    def engine_stopped(self) -> None:
        self._end("stopped")


def _frame(data: bytes) -> bytes:
    """One HTTP chunked-encoding chunk, as aiohttp would frame it."""
    return b"%x\r\n%b\r\n" % (len(data), data)
