"""`run_benchmark`: the whole client run of one job — warmup, then the measured phase in this
process (a `Sender`) or split over worker processes (`sweeper.client.workers`)."""

from __future__ import annotations

import time

import numpy as np

from instruments.errors import ConfigError
from sweeper.client.benchmark_run import BenchmarkRun
from sweeper.client.config import LoadConfig
from sweeper.client.early_stop import EarlyStop
from sweeper.client.progress import Progress
from sweeper.client.schedules import SCHEDULES, SendSchedule
from sweeper.client.sender import Sender, StopAt, drop_unsent, run_measured_phase
from sweeper.client.session import open_session, paused_gc
from sweeper.client.workers import run_in_workers
from sweeper.records import RequestRecord, RequestSpec

_now = time.monotonic_ns


def make_schedule(load: LoadConfig, requests: list[RequestSpec]) -> SendSchedule:
    """The send schedule of `requests` under `load` (checked first: one-line ConfigErrors)."""
    load.validate()
    if not requests:
        raise ConfigError("dataset: no requests to send")
    return SCHEDULES.get(load.schedule)(load, requests)


def finish_run(
    run: BenchmarkRun,
    schedule: SendSchedule,
    warm: list[RequestRecord],
    records: list[RequestRecord],
) -> BenchmarkRun:
    """Flag the warmup window's requests and put the warmup requests first."""
    load = run.load
    run.t_measure_start_ns = run.t_start_ns + int(load.warmup_s * 1e9)
    if load.warmup_s > 0:
        for rec in records:
            if rec.t_dispatch_ns < run.t_measure_start_ns:
                rec.warmup = True
    run.records = warm + sorted(records, key=lambda r: r.index)
    run.planned_offsets_s = [] if schedule.closed_duration else schedule.offsets.tolist()
    return run


async def run_benchmark(
    base_url: str,
    model: str,
    requests: list[RequestSpec],
    load: LoadConfig,
    stop_at: StopAt | None = None,
    early_stop: EarlyStop | None = None,
) -> BenchmarkRun:
    """Send `requests` to `base_url` following `load`; return the records and the run's clock.

    With load.workers > 1 the measured phase is split over that many processes (see
    sweeper.client.workers); timestamps stay comparable (one system-wide monotonic clock).
    `stop_at` cuts the measured phase short in this process, keeping what it measured (the
    job's deadline; the caller bounds a run in worker processes itself). `early_stop` stops
    a saturated run's sending (this process only; not with load.workers > 1).
    """
    schedule = make_schedule(load, requests)
    sender = Sender(base_url, model, requests, load)
    n_specs = len(requests)
    spec_of = [i % n_specs for i in range(schedule.count)]
    records = [sender.new_record(i, spec_of[i]) for i in range(schedule.count)]
    warm = [sender.new_record(i, i % n_specs, tag="w") for i in range(load.warmup_requests)]
    for rec in warm:
        rec.warmup = True
    cap = load.concurrency
    async with open_session(load, cap) as session:
        sender.session = session
        if warm:
            await sender.run_fixed(warm, [i % n_specs for i in range(len(warm))],
                                   np.zeros(len(warm)), _now())  # fmt: skip
            if sender.stop_reason:  # the server is gone already: nothing more is sent
                sender.not_sent += drop_unsent(warm)
        if load.workers > 1:
            run = await run_in_workers(base_url, model, requests, load, schedule, sender.prefix)
            sender.complete_pending()  # the warmup's
            return finish_run(run, schedule, warm, run.records)
        if load.prewarm_connections:
            await sender.prewarm(min(cap or 64, max(schedule.count, cap or 1), 512))
        sender.done = 0
        with paused_gc(), Progress(None if schedule.closed_duration else schedule.count,
                                   lambda: sender.done, load.progress):  # fmt: skip
            t_start = _now()
            monitor = early_stop.start(sender, schedule, t_start) if early_stop else None
            t_end, cpu, lags = await run_measured_phase(
                sender, records, spec_of, schedule, t_start, stop_at=stop_at
            )
            if monitor is not None:
                monitor.cancel()
    # the session is closed, nothing is in flight: now the responses are parsed
    sender.complete_pending()
    run = BenchmarkRun(records, t_start, t_end, model, load, client_cpu_ns=cpu, loop_lag_ms=lags,
                       stopped_reason=sender.stop_reason, not_sent=sender.not_sent)  # fmt: skip
    return finish_run(run, schedule, warm, records)
