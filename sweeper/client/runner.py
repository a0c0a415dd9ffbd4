"""The measured run: one aiohttp session, a drift-free scheduler, bytes timestamped at arrival.

Everything that costs (building and JSON-encoding bodies, ids, headers, the arrival schedule) is
done before the clock starts. While requests are in flight the loop only sends, reads bytes,
splits SSE events and parses their JSON; the progress bar lives in a thread; the garbage
collector is frozen and paused for the run.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np

from instruments.errors import ConfigError
from sweeper.client.arrival import ArrivalClock
from sweeper.client.backends import Backend, StreamState, get_backend
from sweeper.client.backends.base import StreamError, finish
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.progress import Progress
from sweeper.client.schedule import check_load, duration_offsets, rate_offsets, trace_offsets
from sweeper.client.session import auth_headers, open_session, paused_gc, watch_loop
from sweeper.client.sse import JsonLinesParser, SseParser
from sweeper.records import RequestRecord, RequestSpec

_now = time.monotonic_ns

__all__ = ["BenchmarkRun", "Plan", "Sender", "make_plan", "measure", "open_session", "paused_gc",
           "run_benchmark"]  # fmt: skip


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
        st = StreamState()
        backend = self.backend
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
                if resp.status != 200:
                    detail = (await resp.read())[:300].decode(errors="replace")
                    rec.t_end_ns = _now()
                    rec.error = f"http_{resp.status}: {' '.join(detail.split())}"
                elif not self.stream:
                    payload = await resp.read()
                    backend.on_response(payload, _now(), rec, st)
                else:
                    sse = "event-stream" in resp.headers.get("Content-Type", "event-stream")
                    parser = SseParser() if sse else JsonLinesParser()
                    clock = ArrivalClock(resp)
                    async for chunk in resp.content.iter_any():
                        now = _now()
                        for event, end in parser.feed(chunk):
                            backend.on_event(event, clock.at(end, now), rec, st)
                    now = _now()
                    for event, end in parser.flush():
                        backend.on_event(event, clock.at(end, now), rec, st)
        except StreamError as exc:
            rec.error = str(exc)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            rec.error = f"timeout: no byte for {self.load.request_timeout_s:g} s"
        except aiohttp.ClientConnectorError as exc:
            rec.error = f"connect_error: {exc}"
        except aiohttp.ServerDisconnectedError:
            rec.error = "server_disconnected: connection closed mid-response"
        except aiohttp.ClientPayloadError as exc:
            rec.error = f"incomplete_response: {exc}"
        except aiohttp.ClientError as exc:
            rec.error = f"{type(exc).__name__}: {exc}"
        except ValueError as exc:
            rec.error = f"bad_event: {exc}"
        finally:
            if not rec.t_send_ns:  # nothing was written (no connection)
                rec.t_send_ns = rec.t_post_ns
            if not rec.t_end_ns:
                rec.t_end_ns = _now()
            finish(rec, st)
            if rec.error:
                rec.success = False
            self.done += 1
            if self.shared_done is not None:
                counters, slot = self.shared_done
                counters[slot] += 1

    async def prewarm(self, connections: int) -> None:
        """Open `connections` pooled connections before the clock starts."""
        assert self.session is not None
        headers = {k: v for k, v in self.headers.items() if k != "Content-Type"}

        async def touch() -> None:
            try:
                url = self.base_url + "/v1/models"
                async with self.session.get(url, headers=headers) as resp:  # type: ignore[union-attr]
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
                await self.send(records[i], spec_of[i])

        workers = [asyncio.create_task(worker()) for _ in range(cap or 0)]
        for i in order.tolist():
            target = int(targets[i])
            now = _now()
            if target > now:
                await asyncio.sleep((target - now) / 1e9)
                now = _now()
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
            while (now := _now()) < deadline_ns:
                i = next(counter)
                rec = self.new_record(i, i % len(self.specs))
                rec.t_scheduled_ns = rec.t_dispatch_ns = now
                records.append(rec)
                await self.send(rec, i % len(self.specs))

        await asyncio.gather(*(worker() for _ in range(cap)))


@dataclass
class Plan:
    """The measured schedule: `count` requests at `offsets` (s), or a closed loop for a time."""

    offsets: np.ndarray
    count: int
    closed_duration: bool

    @property
    def spec_of(self) -> list[int]:
        return list(range(self.count))


def make_plan(load: LoadConfig, requests: list[RequestSpec]) -> Plan:
    check_load(load)
    if not requests:
        raise ConfigError("dataset: no requests to send")
    closed_duration = load.duration_s is not None and math.isinf(load.request_rate)
    if closed_duration and load.concurrency is None:
        raise ConfigError("load.duration_s: a closed loop (request_rate=inf) needs concurrency")
    if load.schedule == "trace":
        offsets = trace_offsets([s.arrival_s for s in requests], load.trace_speedup)
    elif load.duration_s is not None and not closed_duration:
        offsets = duration_offsets(load, load.duration_s)
    elif closed_duration:
        offsets = np.zeros(0)
    else:
        offsets = rate_offsets(load, len(requests))
    return Plan(offsets, len(offsets), closed_duration)


async def measure(
    runner: Sender,
    records: list[RequestRecord],
    spec_of: list[int],
    plan: Plan,
    t0: int,
    stride: int = 1,
    first: int = 0,
) -> tuple[int, int, list[float]]:
    """The measured phase from t0 (absolute ns, may be ahead): (t_end, CPU ns, loop lags).
    A closed loop for a duration numbers its requests first, first + stride, ..."""
    lags: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(lags, stop))
    cpu0 = time.process_time_ns()
    if plan.closed_duration:
        assert runner.load.duration_s is not None
        await asyncio.sleep(max(t0 - _now(), 0) / 1e9)
        deadline = t0 + int(runner.load.duration_s * 1e9)
        await runner.run_closed_for(records, deadline, stride=stride, first=first)
    else:
        await runner.run_fixed(records, spec_of, plan.offsets, t0)
    t_end = _now()
    cpu = time.process_time_ns() - cpu0
    stop.set()
    await watcher
    return t_end, cpu, lags


def finish_run(
    run: BenchmarkRun, plan: Plan, warm: list[RequestRecord], records: list[RequestRecord]
) -> BenchmarkRun:
    """Flag the warmup window's requests and put the warmup requests first."""
    load = run.load
    run.t_measure_start_ns = run.t_start_ns + int(load.warmup_s * 1e9)
    if load.warmup_s > 0:
        for rec in records:
            if rec.t_dispatch_ns < run.t_measure_start_ns:
                rec.warmup = True
    run.records = warm + sorted(records, key=lambda r: r.index)
    run.planned_offsets_s = [] if plan.closed_duration else plan.offsets.tolist()
    return run


async def run_benchmark(
    base_url: str, model: str, requests: list[RequestSpec], load: LoadConfig
) -> BenchmarkRun:
    """Send `requests` to `base_url` following `load`; return the records and the run's clock.

    With load.workers > 1 the measured phase is split over that many processes (see
    sweeper.client.workers); timestamps stay comparable (one system-wide monotonic clock).
    """
    plan = make_plan(load, requests)
    runner = Sender(base_url, model, requests, load)
    n_specs = len(requests)
    spec_of = [i % n_specs for i in range(plan.count)]
    records = [runner.new_record(i, spec_of[i]) for i in range(plan.count)]
    warm = [runner.new_record(i, i % n_specs, tag="w") for i in range(load.warmup_requests)]
    for rec in warm:
        rec.warmup = True
    cap = load.concurrency
    async with open_session(load, cap) as session:
        runner.session = session
        if warm:
            await runner.run_fixed(warm, [i % n_specs for i in range(len(warm))],
                                   np.zeros(len(warm)), _now())  # fmt: skip
        if load.workers > 1:
            from sweeper.client.workers import run_in_workers

            run = await run_in_workers(base_url, model, requests, load, plan, runner.prefix)
            return finish_run(run, plan, warm, run.records)
        if load.prewarm_connections:
            await runner.prewarm(min(cap or 64, max(plan.count, cap or 1), 512))
        runner.done = 0
        with paused_gc(), Progress(None if plan.closed_duration else plan.count,
                                   lambda: runner.done, load.progress):  # fmt: skip
            t_start = _now()
            t_end, cpu, lags = await measure(runner, records, spec_of, plan, t_start)
    run = BenchmarkRun(records, t_start, t_end, model, load, client_cpu_ns=cpu, loop_lag_ms=lags)
    return finish_run(run, plan, warm, records)
