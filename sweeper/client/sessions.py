"""Multi-turn sessions: each turn is sent when the one before it has ended plus a think time,
with the session's history so far (system prompt, every earlier turn and its answer).

Load (see `sweeper.client.session_config`): `concurrency` sessions active at once (closed
loop), or sessions arriving at `request_rate` (open loop; `concurrency` then caps the active
ones), or at a session trace's own times (`schedule=trace`); `load.sessions.max_in_flight` caps
requests over all sessions (fan-out turns send several at once). Warmup sessions run first and
are awaited; the measured clock starts after them. `duration_s` stops new turns from starting;
turns in flight finish and the sessions they cut short count as incomplete. A failed turn ends
its session (its history would be wrong).

History: chat backends send the messages list (`assistant` messages hold the answers; the
parallel answers of a fan-out turn are one message, joined by newlines). Completions backends
send a transcript: each message as `<role>: <content>` on its own line, ending with
`assistant:`, which the answer follows directly; the next turn's prompt therefore starts with
the exact text the server processed (prompt + its answer), so a prefix cache can hit all of it.

Each turn's body is built and encoded when the turn starts (it holds the answer of the turn
before): one `json.dumps` of the history per request, in the event loop, the only per-request
work sessions add. Requests go through the Sender's own `send` (same stamps, same failures).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np

from instruments.errors import ConfigError
from sweeper.client.backends.openai import OpenAIChatBackend
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.progress import Progress
from sweeper.client.sender import Sender, StopAt, drop_unsent, run_until_stop
from sweeper.client.session import end_watch, open_session, paused_gc, watch_loop
from sweeper.client.session_arrivals import check_session_load, session_offsets
from sweeper.records import RequestRecord, RequestSpec, SessionSpec, TurnSpec
from sweeper.telemetry.scrape import parse
from sweeper.telemetry.server_figures import HITS, QUERIES

_now = time.monotonic_ns

METRICS_TIMEOUT_S = 5.0


def answer_of(rec: RequestRecord) -> str:
    """The answer a finished turn's record holds, reasoning cut off: what the history carries.
    The one place sessions read a finished request's text."""
    if rec.reasoning and rec.answer_chunk < 0:
        return ""  # it reasoned to the end (cut by max_tokens): no answer
    return rec.generated_text[rec.reasoning_chars :]


def transcript_lines(messages: list[dict[str, Any]]) -> str:
    """Messages as completions text: `<role>: <content>` a line."""
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages)


@dataclass
class SessionResult:
    """What happened to one session."""

    session_id: str
    warmup: bool
    turns_total: int
    turns_done: int = 0
    t_start_ns: int = 0
    t_end_ns: int = 0
    failed: bool = False
    # the context the last request held: its prompt tokens (the server's count where given)
    # plus its output
    context_len: int = 0

    @property
    def complete(self) -> bool:
        return not self.failed and self.turns_done == self.turns_total


@dataclass
class SessionRun(BenchmarkRun):
    """A BenchmarkRun of sessions: the records are the turns; plus each session's outcome and
    the server's prefix-cache counters over the measured phase (exact: read just before and
    just after it; None when the server has no such counters)."""

    sessions: list[SessionResult] = field(default_factory=list)
    prefix_cache_hits: float | None = None
    prefix_cache_queries: float | None = None


class SessionDriver:
    def __init__(self, sender: Sender, load: LoadConfig) -> None:
        self.sender = sender
        self.load = load
        self.cfg = load.sessions
        self.chat = isinstance(sender.backend, OpenAIChatBackend)
        cap = self.cfg.max_in_flight
        self.slots = asyncio.Semaphore(cap) if cap else None
        self.next_index = 0
        self.deadline_ns: int | None = None
        self.records: list[RequestRecord] = []
        self.results: list[SessionResult] = []

    def think_times(self, session: SessionSpec) -> list[float]:
        """Seconds before each turn, drawn when the session starts from a generator seeded by
        load.seed and the session id (the same whatever order sessions start in); a trace's
        own gaps win."""
        rng = np.random.default_rng((self.load.seed, zlib.crc32(session.session_id.encode())))
        drawn = self.cfg.think_time_s.draw(rng, len(session.turns)).tolist()
        return [
            t.delay_s if t.delay_s is not None else d
            for t, d in zip(session.turns, drawn, strict=True)
        ]

    def _past_deadline(self) -> bool:
        return self.deadline_ns is not None and _now() >= self.deadline_ns

    async def run_session(self, session: SessionSpec, warmup: bool, t_ready_ns: int) -> None:
        """Every turn of `session` in order; `t_ready_ns` is when it was meant to start."""
        result = SessionResult(session.session_id, warmup, len(session.turns))
        self.results.append(result)
        think = self.think_times(session)
        history: list[dict[str, Any]] = []
        if session.system:
            history.append({"role": "system", "content": session.system})
        transcript = "" if self.chat else transcript_lines(history)
        context = session.system_len
        eligible = t_ready_ns
        for k, turn in enumerate(session.turns):
            if k > 0 and think[k] > 0:
                await asyncio.sleep(think[k])
                eligible = _now()
            if self.sender.stop_reason or (not warmup and self._past_deadline()):
                break
            history.extend(turn.messages)
            context += turn.input_len
            if not self.chat:
                transcript += transcript_lines(turn.messages)
            recs = await self._send_turn(
                session, turn, k, history, transcript, context, warmup, eligible
            )
            if not result.t_start_ns:
                result.t_start_ns = recs[0].t_send_ns
            result.t_end_ns = max(r.t_end_ns for r in recs)
            last = recs[-1]
            prompt = last.server_prompt_len if last.server_prompt_len is not None else context
            result.context_len = prompt + last.output_len
            if not all(r.success for r in recs):
                result.failed = True
                break
            result.turns_done += 1
            answer = self._answer(turn, recs)
            history.append({"role": "assistant", "content": answer})
            if not self.chat:
                transcript += f"assistant:{answer}\n"
            context += sum(r.output_len for r in recs)
            eligible = result.t_end_ns

    def _answer(self, turn: TurnSpec, recs: list[RequestRecord]) -> str:
        if self.cfg.history == "reference" and turn.reference:
            return turn.reference
        return "\n".join(answer_of(r) for r in recs)

    async def _send_turn(
        self,
        session: SessionSpec,
        turn: TurnSpec,
        k: int,
        history: list[dict[str, Any]],
        transcript: str,
        context: int,
        warmup: bool,
        eligible: int,
    ) -> list[RequestRecord]:
        """The turn's request (or its parallel sub-requests), sent and awaited."""
        spec = RequestSpec(
            prompt=transcript + "assistant:" if not self.chat else "",
            prompt_len=context,
            output_len=turn.output_len,
            messages=history if self.chat else None,
            labels=dict(session.labels),
        )
        body = json.dumps(self.sender.backend.body(spec)).encode()
        spec.messages, spec.prompt = None, ""  # the history lives on in the session only
        sender = self.sender
        recs = []
        for sub in range(turn.parallel):
            sender.specs.append(spec)
            sender.bodies.append(body)
            slot = len(sender.bodies) - 1
            rec = sender.new_record(self.next_index, slot, tag="w" if warmup else "")
            self.next_index += 1
            rec.session_id, rec.turn, rec.sub, rec.warmup = session.session_id, k, sub, warmup
            rec.t_scheduled_ns = eligible
            self.records.append(rec)
            recs.append((rec, slot))
        await asyncio.gather(*(self._send(rec, slot) for rec, slot in recs))
        return [rec for rec, _ in recs]

    async def _send(self, rec: RequestRecord, slot: int) -> None:
        if self.slots is not None:
            await self.slots.acquire()
        try:
            rec.t_dispatch_ns = _now()
            if not self.sender.stop_reason:
                await self.sender.send(rec, slot)
                # the next turn's history needs this answer now, not after the run
                self.sender.complete(rec)
        finally:
            self.sender.bodies[slot] = b""  # sent: its bytes are not needed any more
            if self.slots is not None:
                self.slots.release()

    async def closed_loop(self, sessions: list[SessionSpec], cycle: bool, warmup: bool) -> None:
        """`concurrency` sessions at once, each worker starting the next when one ends."""
        order = itertools.cycle(range(len(sessions))) if cycle else iter(range(len(sessions)))
        rounds: dict[int, int] = {}

        async def worker() -> None:
            for i in order:
                if self.sender.stop_reason or (not warmup and self._past_deadline()):
                    return
                session = sessions[i]
                n = rounds[i] = rounds.get(i, -1) + 1
                if n:  # a repeat of a cycled session keeps an id of its own
                    session = _renamed(session, f"{session.session_id}~r{n}")
                await self.run_session(session, warmup, _now())

        width = self.load.concurrency or len(sessions)
        await asyncio.gather(*(worker() for _ in range(min(width, len(sessions)) or 1)))

    async def open_loop(self, sessions: list[SessionSpec], offsets_s: np.ndarray, t0: int) -> None:
        """Sessions started at t0 + offsets (an arrival process or a trace); `concurrency`
        caps the sessions active at once (a late one waits)."""
        cap = self.load.concurrency
        active = asyncio.Semaphore(cap) if cap else None
        tasks = []

        async def one(session: SessionSpec, target: int) -> None:
            if active is not None:
                await active.acquire()
            try:
                if not self._past_deadline() and not self.sender.stop_reason:
                    await self.run_session(session, False, target)
            finally:
                if active is not None:
                    active.release()

        for session, offset in zip(sessions, offsets_s.tolist(), strict=True):
            target = t0 + int(offset * 1e9)
            if (wait := target - _now()) > 0:
                await asyncio.sleep(wait / 1e9)
            if self.sender.stop_reason or self._past_deadline():
                break
            tasks.append(asyncio.create_task(one(session, target)))
        await asyncio.gather(*tasks)


def _renamed(session: SessionSpec, session_id: str) -> SessionSpec:
    return SessionSpec(
        session_id,
        session.turns,
        session.system,
        session.system_len,
        session.arrival_s,
        session.labels,
    )


async def prefix_counters(
    session: aiohttp.ClientSession, base_url: str
) -> tuple[float, float] | None:
    """(hits, queries) of the server's prefix cache now, summed over engines; None when it has
    no such counters or no /metrics."""
    try:
        timeout = aiohttp.ClientTimeout(total=METRICS_TIMEOUT_S)
        async with session.get(base_url.rstrip("/") + "/metrics", timeout=timeout) as resp:
            if resp.status != 200:
                return None
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
    totals: dict[str, float] = {}
    for _, name, _, value in parse(text, 0):
        totals[name] = totals.get(name, 0.0) + value
    hits = next((totals[n] for n in HITS if n in totals), None)
    queries = next((totals[n] for n in QUERIES if n in totals), None)
    return None if hits is None or queries is None else (hits, queries)


async def run_sessions(
    base_url: str,
    model: str,
    sessions: list[SessionSpec],
    load: LoadConfig,
    stop_at: StopAt | None = None,
) -> SessionRun:
    """Drive `sessions` (the first load.sessions.warmup_sessions are the warmup) against
    `base_url`; the records are every turn's request. At `stop_at` (the job deadline) the
    requests in flight end as `cancelled: <reason>` and the records so far are kept."""
    check_session_load(load)
    n_warm = load.sessions.warmup_sessions
    warm, measured = sessions[:n_warm], sessions[n_warm:]
    if not measured:
        raise ConfigError("dataset: no sessions to send")
    sender = Sender(base_url, model, [], load)
    driver = SessionDriver(sender, load)
    offsets = session_offsets(load, measured)
    async with open_session(load, load.sessions.max_in_flight) as http:
        sender.session = http
        if warm:
            await driver.closed_loop(warm, cycle=False, warmup=True)
        before = await prefix_counters(http, base_url)
        if load.prewarm_connections:
            await sender.prewarm(min(load.concurrency or 64, 512))
        lags: list[float] = []
        stop = asyncio.Event()
        sender.done = 0
        with paused_gc(), Progress(None, lambda: sender.done, load.progress, desc="turns"):
            watcher = asyncio.create_task(watch_loop(lags, stop, load.loop_lag_period_ms))
            cpu0 = time.process_time_ns()
            t_start = _now()
            if load.duration_s is not None:
                driver.deadline_ns = t_start + int(load.duration_s * 1e9)
            if offsets is None:
                phase = driver.closed_loop(
                    measured, cycle=load.duration_s is not None, warmup=False
                )
            else:
                phase = driver.open_loop(measured, offsets, t_start)
            await run_until_stop(phase, sender, watcher, stop_at)
            t_end = _now()
            cpu = time.process_time_ns() - cpu0
            await end_watch(stop, watcher)
        after = await prefix_counters(http, base_url)
    records = driver.records
    sender.complete_pending()  # turns cut short in flight (each ended turn is parsed already)
    if sender.stop_reason:
        sender.not_sent += drop_unsent(records)
    run = SessionRun(
        records,
        t_start,
        t_end,
        model,
        load,
        t_measure_start_ns=t_start,
        client_cpu_ns=cpu,
        loop_lag_ms=lags,
        stopped_reason=sender.stop_reason,
        not_sent=sender.not_sent,
        sessions=driver.results,
    )
    if before is not None and after is not None:
        run.prefix_cache_hits = after[0] - before[0]
        run.prefix_cache_queries = after[1] - before[1]
    return run
