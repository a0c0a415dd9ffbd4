"""The sender: one aiohttp session, a drift-free scheduler, bytes timestamped at arrival.

Everything that costs (building and JSON-encoding bodies, ids, headers, the arrival schedule) is
done before the clock starts. While requests are in flight the loop only sends, reads bytes,
stamps them and splits SSE events, keeping each response's `(payload, arrival_ns)`
(`sweeper.client.raw`); JSON parsing, token counts and text come after the run
(`complete_pending`) or per request (`complete`). The progress bar lives in a thread; the
garbage collector is frozen and paused for the run.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np

from sweeper.client.arrival import ArrivalClock
from sweeper.client.backends import Backend, get_backend
from sweeper.client.config import LoadConfig
from sweeper.client.failures import NO_ANSWER, REQUEST_FAILURES, failure_text
from sweeper.client.raw import RawResponse, complete_record
from sweeper.client.reader import MAYBE_ERROR, error_among, hookable, read_in_callbacks
from sweeper.client.schedules import SendSchedule
from sweeper.client.session import auth_headers, end_watch, watch_loop
from sweeper.client.sse import EventTooLarge, JsonLinesParser, SseParser
from sweeper.records import RequestRecord, RequestSpec

_now = time.monotonic_ns

# how much of a non-200 answer's body goes into the record
ERROR_DETAIL_BYTES = 300
# unparsed response bytes of finished requests kept before they are parsed during the run (a
# long run must not grow without bound; below this, parsing waits for the run's end)
RAW_BUDGET_BYTES = 256 << 20


class Sender:
    def __init__(
        self, base_url: str, model: str, requests: list[RequestSpec], load: LoadConfig
    ) -> None:
        self.load = load
        self.backend: Backend = get_backend(load.backend)(model, load)
        self.url = base_url.rstrip("/") + (load.endpoint or self.backend.default_endpoint)
        self.base_url = base_url.rstrip("/")
        self.specs = requests
        self.bodies = [json.dumps(self.backend.body(s)).encode() for s in requests]
        self.headers = auth_headers(load)
        self.prefix = uuid.uuid4().hex[:12]
        self.done = 0
        # (shared array, slot) of finished requests when running in a worker process
        self.shared_done: tuple[Any, int] | None = None
        self.stream = load.stream
        self.session: aiohttp.ClientSession | None = None
        self._gate = asyncio.Lock()
        # requests in a row that got no HTTP answer at all (reset by any response's headers)
        self.no_answer_run = 0
        # why sending stopped before the schedule's end ("" while it has not)
        self.stop_reason = ""
        # what a request cancelled in flight records as its error (the deadline's words)
        self.cancel_reason = ""
        # requests of the schedule left unsent by that stop (they get no record)
        self.not_sent = 0
        # the scheduler's sleep until the next send time, woken early by a stop
        self._wake: asyncio.Future[None] | None = None
        # request id -> (record, raw response) of ended requests not parsed yet
        self.pending: dict[str, tuple[RequestRecord, RawResponse]] = {}
        self._pending_bytes = 0

    def new_record(self, index: int, spec_index: int, tag: str = "") -> RequestRecord:
        spec = self.specs[spec_index]
        return RequestRecord(
            index=index,
            request_id=f"{self.prefix}-{tag}{index}",
            prompt_len=spec.prompt_len,
            expected_output_len=spec.output_len,
            labels=dict(spec.labels),
        )

    async def send(self, rec: RequestRecord, spec_index: int) -> None:
        """Send one request and read its answer; the record is completed later (`complete`)."""
        raw = RawResponse()
        headers = {**self.headers, "x-request-id": rec.request_id}
        body = self.bodies[spec_index]
        assert self.session is not None
        # One request is built per turn of the loop: aiohttp spends ~0.1 ms of CPU on each, and
        # 256 sends started at once would keep the loop from reading for tens of ms (a late read
        # merges the events that came meanwhile, and they all get the last one's arrival time).
        # The gate opens again on the next turn, after the loop has looked at the sockets.
        await self._gate.acquire()
        asyncio.get_running_loop().call_soon(self._gate.release)
        rec.t_post_ns = _now()
        try:
            post = self.session.post(self.url, data=body, headers=headers, trace_request_ctx=rec)
            async with post as resp:
                rec.http_status = resp.status
                self.no_answer_run = 0
                if resp.status != 200:
                    detail = (await resp.content.read(ERROR_DETAIL_BYTES)).decode(errors="replace")
                    rec.t_end_ns = _now()
                    rec.error = f"http_{resp.status}: {' '.join(detail.split())}"
                elif not self.stream:
                    payload = await read_body(resp, self.load.max_event_bytes)
                    raw.payloads.append(payload)
                    raw.stamps.append(_now())
                    raw.nbytes = len(payload)
                    raw.whole = True
                else:
                    await self._read_stream(resp, raw)
        except REQUEST_FAILURES as exc:
            load = self.load
            rec.error = failure_text(exc, load.request_timeout_s, load.idle_timeout_s)
            if rec.http_status is None and isinstance(exc, NO_ANSWER):
                self._no_answer(rec.error)
        except asyncio.CancelledError:
            rec.error = rec.error or "cancelled: " + (self.cancel_reason or "the run was stopped")
            raise
        finally:
            self._close_record(rec, raw)

    async def _read_stream(self, resp: aiohttp.ClientResponse, raw: RawResponse) -> None:
        """The hot path: bytes in, `(payload, arrival of the read that completed it)` out,
        inside the connection's `data_received` where aiohttp allows it
        (`sweeper.client.reader`), else chunk by chunk here. Nothing is parsed but an event
        that may be the server's error (a bytes search): if the backend would fail on it,
        reading stops there, as it did when every event was parsed on arrival."""
        sse = "event-stream" in resp.headers.get("Content-Type", "event-stream")
        limit = self.load.max_event_bytes
        parser = SseParser(limit) if sse else JsonLinesParser(limit)
        proto = hookable(resp)
        if proto is not None:
            await read_in_callbacks(resp, proto, parser, raw, self.backend)
            return
        clock = ArrivalClock(resp)
        payloads, stamps = raw.payloads, raw.stamps
        async for chunk in resp.content.iter_any():
            now = _now()
            raw.nbytes += len(chunk)
            events, ends = parser.feed_split(chunk)
            payloads += events
            stamps += clock.stamps(ends, now)
            if MAYBE_ERROR in chunk and error_among(self.backend, events, raw):
                return
        now = _now()
        for event, end in parser.flush():
            payloads.append(event)
            stamps.append(clock.at(end, now))

    def _no_answer(self, error: str) -> None:
        """One more request without an answer; a run of load.max_connect_failures stops the load."""
        self.no_answer_run += 1
        limit = self.load.max_connect_failures
        if limit and self.no_answer_run >= limit and not self.stop_reason:
            self.stop(
                f"server_unreachable: {self.no_answer_run} requests in a row got no answer "
                f"(load.max_connect_failures={limit}); last: {error[:200]}"
            )

    def stop(self, reason: str) -> None:
        """Send nothing more (the requests in flight go on); `reason` is the run's stop reason."""
        self.stop_reason = self.stop_reason or reason
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _sleep_until(self, target_ns: int, now_ns: int) -> None:
        """asyncio.sleep (the same future and timer), but a stop wakes it at once."""
        loop = asyncio.get_running_loop()
        wake = self._wake = loop.create_future()
        timer = loop.call_later((target_ns - now_ns) / 1e9, _wake_up, wake)
        try:
            await wake
        finally:
            timer.cancel()
            self._wake = None

    def _close_record(self, rec: RequestRecord, raw: RawResponse) -> None:
        """Fill what the request left unset, keep its raw response for `complete` and count it
        as done (it may have failed anywhere)."""
        if not rec.t_send_ns:  # nothing was written (no connection)
            rec.t_send_ns = rec.t_post_ns
        if not rec.t_end_ns:
            rec.t_end_ns = _now()
        self.pending[rec.request_id] = (rec, raw)
        self._pending_bytes += raw.nbytes
        if self._pending_bytes > RAW_BUDGET_BYTES:
            self.complete_pending()
        self.done += 1
        if self.shared_done is not None:
            counters, slot = self.shared_done
            counters[slot] += 1

    def complete(self, rec: RequestRecord) -> None:
        """Parse one ended request's response into its record now (a caller that needs its
        text or length before it goes on); a record completed already is left as it is."""
        entry = self.pending.pop(rec.request_id, None)
        if entry is not None:
            self._pending_bytes -= entry[1].nbytes
            complete_record(self.backend, rec, entry[1])

    def complete_pending(self) -> None:
        """Parse every ended request not parsed yet (after the run: no request in flight)."""
        pending, self.pending, self._pending_bytes = self.pending, {}, 0
        backend = self.backend
        for rec, raw in pending.values():
            complete_record(backend, rec, raw)

    async def prewarm(self, connections: int) -> None:
        """Open `connections` pooled connections before the clock starts."""
        session = self.session
        assert session is not None
        headers = {k: v for k, v in self.headers.items() if k != "Content-Type"}

        async def touch() -> None:
            try:
                async with session.get(self.base_url + "/v1/models", headers=headers) as resp:
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                pass

        await asyncio.gather(*(touch() for _ in range(connections)))

    async def run_fixed(
        self, records: list[RequestRecord], spec_of: list[int], offsets_s: np.ndarray, t0: int
    ) -> None:
        """Send `records` at `t0 + offsets`, at most load.concurrency at a time."""
        cap = self.load.concurrency
        order = np.argsort(offsets_s, kind="stable")
        targets = (t0 + np.round(offsets_s * 1e9)).astype(np.int64)
        queue: asyncio.Queue[int | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()

        async def worker() -> None:
            while (i := await queue.get()) is not None:
                if not self.stop_reason:  # after a stop the queued ones stay unsent
                    await self.send(records[i], spec_of[i])

        workers = [asyncio.create_task(worker()) for _ in range(cap or 0)]
        for i in order.tolist():
            target = int(targets[i])
            now = _now()
            if target > now:
                await self._sleep_until(target, now)
                now = _now()
            if self.stop_reason:
                break
            rec = records[i]
            rec.t_scheduled_ns = target
            rec.t_dispatch_ns = now
            if cap:
                queue.put_nowait(i)
            else:
                task = asyncio.create_task(self.send(rec, spec_of[i]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers, *list(tasks))

    async def run_closed_for(
        self, records: list[RequestRecord], deadline_ns: int, stride: int = 1, first: int = 0
    ) -> None:
        """Closed loop for a duration: each of load.concurrency workers sends back to back.
        Request indexes are first, first + stride, ... (disjoint across worker processes)."""
        cap = self.load.concurrency or 1
        counter = iter(range(first, 1 << 62, stride))

        async def worker() -> None:
            while (now := _now()) < deadline_ns and not self.stop_reason:
                i = next(counter)
                rec = self.new_record(i, i % len(self.specs))
                rec.t_scheduled_ns = rec.t_dispatch_ns = now
                records.append(rec)
                await self.send(rec, i % len(self.specs))

        await asyncio.gather(*(worker() for _ in range(cap)))


@dataclass
class StopAt:
    """A time (monotonic ns) at which the measured phase is cut short, and what to say then
    (the job's deadline: `job_timeout_s=… reached during the benchmark`)."""

    t_ns: int
    reason: str


async def run_measured_phase(
    sender: Sender,
    records: list[RequestRecord],
    spec_of: list[int],
    schedule: SendSchedule,
    t0: int,
    stride: int = 1,
    first: int = 0,
    stop_at: StopAt | None = None,
) -> tuple[int, int, list[float]]:
    """Send the measured phase from t0 (absolute ns, may be ahead): (t_end, CPU ns, loop lags).
    A closed loop for a duration numbers its requests first, first + stride, ... At `stop_at`
    the requests in flight end as `cancelled: <reason>` and the rest are not sent; every record
    measured so far is kept."""
    lags: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(lags, stop, sender.load.loop_lag_period_ms))
    cpu0 = time.process_time_ns()

    async def phase() -> None:
        if schedule.closed_duration:
            assert sender.load.duration_s is not None
            await asyncio.sleep(max(t0 - _now(), 0) / 1e9)
            deadline = t0 + int(sender.load.duration_s * 1e9)
            await sender.run_closed_for(records, deadline, stride=stride, first=first)
        else:
            await sender.run_fixed(records, spec_of, schedule.offsets, t0)

    await run_until_stop(phase(), sender, watcher, stop_at)
    t_end = _now()
    cpu = time.process_time_ns() - cpu0
    await end_watch(stop, watcher)
    if sender.stop_reason:
        sender.not_sent += drop_unsent(records)
    return t_end, cpu, lags


async def run_until_stop(
    phase: Any, sender: Sender, watcher: asyncio.Task[None], stop_at: StopAt | None
) -> None:
    """Await the measured phase; at `stop_at` (the job deadline) cancel what is in flight, the
    watcher excepted, and note the reason."""
    loop = asyncio.get_running_loop()
    when = None if stop_at is None else loop.time() + (stop_at.t_ns - _now()) / 1e9
    if stop_at is not None:
        sender.cancel_reason = stop_at.reason
    scope = asyncio.timeout_at(when)
    try:
        async with scope:
            await phase
    except TimeoutError:
        if stop_at is None or not scope.expired():
            raise
        sender.stop_reason = sender.stop_reason or stop_at.reason
        await cancel_other_tasks(keep=watcher)


async def cancel_other_tasks(keep: asyncio.Task[None]) -> None:
    """Cancel every task of this loop but the caller and `keep`, and wait for them: the sends
    still in flight and the workers that feed them."""
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me and t is not keep]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def drop_unsent(records: list[RequestRecord]) -> int:
    """Remove (in place) the records of requests never handed to the session (no attempt, no
    record: they are not failures of the server); return how many."""
    sent = [r for r in records if r.t_post_ns]
    unsent = len(records) - len(sent)
    records[:] = sent
    return unsent


async def read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """A non-streamed response body, at most `limit` bytes (else EventTooLarge)."""
    if resp.content_length is not None and resp.content_length > limit:
        raise EventTooLarge(limit)
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise EventTooLarge(limit)
    return bytes(body)


def _wake_up(wake: asyncio.Future[None]) -> None:
    if not wake.done():
        wake.set_result(None)
