"""The measured phase split over several client processes (load.workers > 1).

When one process cannot keep up (send lateness, loop lag and CPU-µs per token in the summary
say so), each of N processes takes every N-th request of the schedule (open loop: 1/N of the
rate, interleaved) or 1/N of the concurrency (closed loop). They share the start instant
(absolute `time.monotonic_ns()`, system-wide on Linux), so their records merge into one run.
Each worker is a spawned process in its own process group; all are joined (or killed) before
this returns, whatever happens. Should sweeper itself die (SIGKILL), each worker gets SIGKILL
from the kernel (PR_SET_PDEATHSIG, set first thing in the worker; a worker whose parent is
already gone exits) and the watchdog (`instruments.watchdog`) kills its process group too.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import time
from dataclasses import replace
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from instruments import interrupts, watchdog
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.progress import Progress
from sweeper.client.schedules import SendSchedule
from sweeper.client.sender import Sender, run_measured_phase
from sweeper.client.session import open_session, paused_gc
from sweeper.records import RequestSpec

# time the parent leaves between "all workers ready" and the common start
START_MARGIN_NS = 200_000_000
JOIN_TIMEOUT_S = 10.0


def share(total: int | None, workers: int, w: int) -> int | None:
    """Worker w's part of a concurrency cap (None stays None)."""
    if total is None:
        return None
    return total // workers + (1 if w < total % workers else 0)


async def _child(
    conn: Connection,
    done: Any,
    w: int,
    base_url: str,
    model: str,
    requests: list[RequestSpec],
    load: LoadConfig,
    schedule: SendSchedule,
    prefix: str,
) -> None:
    workers = load.workers
    mine = replace(load, concurrency=share(load.concurrency, workers, w), workers=1)
    sender = Sender(base_url, model, requests, mine)
    sender.prefix, sender.shared_done = prefix, (done, w)
    n_specs = len(requests)
    indexes = list(range(w, schedule.count, workers))
    records = [sender.new_record(i, i % n_specs) for i in indexes]
    spec_of = [i % n_specs for i in indexes]
    offsets = schedule.offsets[indexes] if schedule.count else schedule.offsets
    part = SendSchedule(offsets, len(indexes), schedule.closed_duration)
    loop = asyncio.get_running_loop()
    async with open_session(mine, mine.concurrency) as session:
        sender.session = session
        if mine.prewarm_connections:
            await sender.prewarm(min(mine.concurrency or 64, max(len(indexes), 1), 512))
        conn.send("ready")
        t0: int = await loop.run_in_executor(None, conn.recv)
        with paused_gc():
            t_end, cpu, lags = await run_measured_phase(
                sender, records, spec_of, part, t0, workers, w
            )
    sender.complete_pending()  # the session is closed: nothing is in flight any more
    conn.send((records, t_end, cpu, lags, sender.stop_reason, sender.not_sent))


def worker_main(conn: Connection, done: Any, w: int, parent: int, *args: Any) -> None:
    """Entry point of a worker process: die with `parent` (sweeper), its own process group,
    then the measured phase."""
    watchdog.die_with_parent(signal.SIGKILL, parent)
    os.setpgid(0, 0)
    try:
        asyncio.run(_child(conn, done, w, *args))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def stop_resource_tracker() -> None:
    """Spawning starts multiprocessing's resource-tracker process; stop and reap it again (we
    share no semaphores or shared memory that it would need to clean up)."""
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        stop()


def _recv(conn: Connection) -> Any:
    try:
        msg = conn.recv()
    except EOFError:
        raise RuntimeError("client worker exited without a result") from None
    if isinstance(msg, tuple) and len(msg) == 2 and msg[0] == "error":
        raise RuntimeError(f"client worker failed: {msg[1]}")
    return msg


async def run_in_workers(
    base_url: str,
    model: str,
    requests: list[RequestSpec],
    load: LoadConfig,
    schedule: SendSchedule,
    prefix: str,
) -> BenchmarkRun:
    ctx = mp.get_context("spawn")
    tracker_was_running = getattr(resource_tracker._resource_tracker, "_fd", None) is not None
    # one finished-request counter per worker (a single writer each: no lock needed)
    done = ctx.RawArray("q", load.workers)
    loop = asyncio.get_running_loop()
    procs: list[Any] = []
    conns: list[Connection] = []
    guard = watchdog.guard()
    try:
        for w in range(load.workers):
            parent, child = ctx.Pipe()
            args = (child, done, w, os.getpid(), base_url, model, requests, load, schedule, prefix)
            proc = ctx.Process(target=worker_main, args=args, name=f"sweeper-client-{w}")
            # a Ctrl-C inside would leave a started worker out of `procs`: never killed, and
            # the resource tracker (whose pipe it holds) never stops
            with interrupts.held():
                guard.open(f"client-{w}", {})
                try:
                    proc.start()
                except BaseException:
                    guard.close()
                    raise
                assert proc.pid is not None  # started
                guard.watch(proc.pid)  # its group: the worker makes its pid its group id
                procs.append(proc)
                conns.append(parent)
            # only the worker holds its end: a dead worker then reads as EOF here, not a hang
            child.close()
        for conn in conns:
            await loop.run_in_executor(None, _recv, conn)
        t_start = time.monotonic_ns() + START_MARGIN_NS
        for conn in conns:
            conn.send(t_start)
        total = None if schedule.closed_duration else schedule.count
        with Progress(total, lambda: int(sum(done)), load.progress):
            results = await asyncio.gather(
                *(loop.run_in_executor(None, _recv, conn) for conn in conns)
            )
    except BaseException:
        # interrupted or failed: the workers must not outlive the run
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        raise
    finally:
        for proc in procs:
            proc.join(timeout=JOIN_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
            guard.close(proc.pid)
        for conn in conns:
            conn.close()
        if not tracker_was_running:
            stop_resource_tracker()
    records = [r for part in results for r in part[0]]
    t_end = max(part[1] for part in results)
    lags = [lag for part in results for lag in part[3]]
    run = BenchmarkRun(records, t_start, t_end, model, load, loop_lag_ms=lags)
    run.client_cpu_ns = int(np.sum([part[2] for part in results]))
    # each worker stops on its own run of connection failures: the first reason says why
    run.stopped_reason = next((part[4] for part in results if part[4]), "")
    run.not_sent = sum(part[5] for part in results)
    return run
