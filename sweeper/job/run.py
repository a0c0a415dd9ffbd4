"""One job (one grid point): validate → server → sample → client → metrics → job dir → MLflow.

A job never raises for a failure of its own (bad input, dead server, MLflow down, a job dir that
cannot be written, the job deadline `job_timeout_s`): it records the failure in its job dir (as
far as the disk lets it) and as a FAILED MLflow run, the sweep counts it and goes on. Only
Ctrl-C / SIGTERM propagate (after the job is recorded as KILLED). Whether a measured job is
FINISHED is `sweeper.job.verdict`'s rule (`min_success_fraction`, a server that is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from instruments.errors import SweeperError, os_error_text
from instruments.redact import redact_text
from launchers.kinds import server_kind
from sweeper.job import jobdir, resume, skip
from sweeper.job.context import JobContext, config_hash
from sweeper.job.deadline import DEADLINE_GRACE_S, Deadline
from sweeper.job.outcome import Outcome
from sweeper.job.prepare import Prepared, prepare
from sweeper.job.saturation import early_stop_for, saturation_extras, stopped_early
from sweeper.job.verdict import judge, unreachable
from sweeper.tracking import sidecar
from sweeper.tracking.job_run import record_job

if TYPE_CHECKING:
    from launchers.pool import Lease
    from sweeper.client.benchmark_run import BenchmarkRun
    from sweeper.runtime import Pool, Runtime
    from sweeper.schema import RunSpec
    from sweeper.tracking.sweep_run import SweepRun

log = logging.getLogger(__name__)


def run_job(spec: RunSpec, ctx: JobContext, runtime: Runtime) -> dict[str, Any]:
    if not spec.tracking.enabled:
        sidecar.discard()
    if ctx.sweep_dir is not None:  # the tracking helper may still be making the parent run
        runtime.sweep.open(ctx.sweep_dir, spec.tracking, [], wait=False)
    # before the benchmark, only resuming and the sibling lookup past job 0 need its id
    parent_id = runtime.sweep.parent_id() if spec.resume or ctx.job_num > 0 else None
    outcome = Outcome()
    try:
        if (
            spec.resume
            and (done := resume.carried(spec, ctx, parent_id, runtime.sweep)) is not None
        ):
            return done
        if (knee := skip.past_knee(spec, ctx, parent_id, runtime.sweep)) is not None:
            return skip.record_skip(spec, ctx, knee, parent_id, runtime.sweep)
        run_phases(spec, ctx, outcome, runtime)
    except SweeperError as e:
        outcome.error = str(e)
    except Exception as e:
        outcome.error = f"{type(e).__name__}: {e}"
        with contextlib.suppress(OSError):  # a full disk is said by the job dir's own write
            jobdir.write_text(ctx.job_dir / jobdir.ERROR_LOG, traceback.format_exc())
    except BaseException:
        outcome.status, outcome.error = "KILLED", "interrupted"
        finish(spec, ctx, outcome, runtime.sweep.parent_id(), runtime.sweep)
        raise
    finish(spec, ctx, outcome, runtime.sweep.parent_id(), runtime.sweep)
    return outcome.summary


def run_phases(spec: RunSpec, ctx: JobContext, outcome: Outcome, runtime: Runtime) -> None:
    """Prepare, get a server, measure: each phase ends within the job deadline or fails it."""
    deadline = Deadline(spec.job_timeout_s)
    prepared = prepare(spec)
    deadline.check("while preparing the job")
    runtime.gpus.ensure(
        spec.gpus_per_job, spec.gpu_ids, ctx.gpu_lock_dir, spec.server.ready_timeout_s
    )
    outcome.lease = runtime.pool.acquire(
        prepared.model, spec.server, ctx.servers_dir, while_starting=import_measure_modules
    )
    deadline.check("while starting the server")
    # the tracking helper (nice 19) goes on beside the benchmark on what CPU it leaves; its
    # answers so far are taken, so their warnings come now
    sidecar.settle()
    measure(spec, prepared, outcome, runtime.pool, deadline)


# what `measure` imports (keep the two in step): aiohttp, pandas and pyarrow among them, 0.4 s
# of the first job's CPU, spent while its server starts on the other core rather than after
MEASURE_MODULES = (
    "sweeper.client.frame", "sweeper.client.runner", "sweeper.client.sessions",
    "sweeper.features.metrics", "sweeper.metrics", "sweeper.metrics.turns",
    "sweeper.telemetry.watch",
)  # fmt: skip


def import_measure_modules() -> None:
    for name in MEASURE_MODULES:
        importlib.import_module(name)


def measure(
    spec: RunSpec, prepared: Prepared, outcome: Outcome, pool: Pool, deadline: Deadline
) -> None:
    """Drive the load against the leased server; nothing but the client runs in the loop."""
    from sweeper.client.frame import records_frame
    from sweeper.client.runner import run_benchmark
    from sweeper.client.sessions import run_sessions
    from sweeper.features.metrics import feature_metrics
    from sweeper.metrics import summarize, time_series
    from sweeper.metrics.turns import turn_metrics
    from sweeper.telemetry.watch import ServerWatch

    lease = outcome.lease
    assert lease is not None
    watch = ServerWatch(lease.base_url, spec.server.metrics_interval_s)
    watch.start()
    try:
        where = "during the benchmark"
        # the client stops at the deadline itself and keeps its records; the bound (a little
        # later) covers what it cannot cut short: the warmup, worker processes
        client = run_benchmark(
            lease.base_url, prepared.model.name, prepared.requests, spec.load,
            deadline.stop_at(where), early_stop_for(spec, watch),
        ) if prepared.sessions is None else run_sessions(
            lease.base_url, prepared.model.name, prepared.sessions, spec.load,
            deadline.stop_at(where),
        )  # fmt: skip
        run = asyncio.run(deadline.bound(client, where, grace_s=DEADLINE_GRACE_S))
    finally:
        outcome.server_metrics = watch.stop()
    outcome.summary = summarize(run, spec.slo, list(spec.percentiles))
    outcome.summary["sweeper"].update(
        feature_metrics(run, prepared.requests, list(spec.percentiles), outcome.server_metrics)
    )
    outcome.summary["sweeper"].update(turn_metrics(run, list(spec.percentiles)))
    outcome.summary["sweeper"].update(saturation_extras(spec, run, outcome.server_metrics))
    outcome.records = records_frame(run.records)
    outcome.series = time_series(run)
    stopped = server_gone(run, lease, pool)
    # requests an early stop left unsent are what it saved, not failures
    not_sent = 0 if stopped_early(run) else run.not_sent
    verdict = judge(outcome.summary, spec.min_success_fraction, stopped, not_sent)
    outcome.status, outcome.error = verdict.status, verdict.error


def server_gone(run: BenchmarkRun, lease: Lease, pool: Pool) -> str | None:
    """Why the server is not to be trusted after the benchmark: its process exited, or the
    last requests found nobody listening; None when it looks fine."""
    if lease.pid is not None and not pool.server_alive():
        return f"server (pid {lease.pid}) exited during the benchmark"
    # the client's own reason first (it stopped sending; a saturation stop is no failure);
    # the records' tail for runs that cannot say (client worker processes)
    if stopped_early(run):
        return unreachable(run.measured)
    return run.stopped_reason or unreachable(run.measured)


def finish(
    spec: RunSpec, ctx: JobContext, outcome: Outcome, parent_id: str | None, sweep: SweepRun
) -> None:
    """Write the job dir, then track it, then tell the user. Nothing here raises for a job's
    own failure: a file that cannot be written fails the job, which is still tracked and
    counted."""
    outcome.summary = {**outcome.summary, "sweeper": result_extras(spec, ctx, outcome)}
    if (failure := write_data_files(ctx, outcome)) is not None:
        fail(outcome, failure)
    try:
        jobdir.write_json(ctx.job_dir / jobdir.RESULT, outcome.summary)
    except OSError as e:
        if failure is None:  # else the same cause, already said
            fail(outcome, f"cannot write {ctx.job_dir / jobdir.RESULT}: {os_error_text(e)}")
    try:
        record_job(spec, ctx, outcome, parent_id, sweep)
    except Exception as e:  # tracking is best effort; the count and the user line still come
        sweep.warn(f"job {ctx.job_num} not tracked (its files are in {ctx.job_dir}): {e}")
    sweep.job_finished(outcome.ok)
    report(spec, ctx, outcome)


def fail(outcome: Outcome, why: str) -> None:
    """A finished job that could not keep its files is FAILED (a KILLED one stays KILLED)."""
    if outcome.status == "FINISHED":
        outcome.status = "FAILED"
    outcome.error = f"{outcome.error}; {why}" if outcome.error else why
    outcome.summary["sweeper"].update(status=outcome.status, error=outcome.error)


def result_extras(spec: RunSpec, ctx: JobContext, outcome: Outcome) -> dict[str, Any]:
    """result.json's `sweeper` block: the client's extras plus how, where and on what it ran."""
    lease = outcome.lease
    extras = {
        **outcome.summary.get("sweeper", {}),
        "status": outcome.status,
        "error": outcome.error,
        "job_num": ctx.job_num,
        "overrides": ",".join(ctx.overrides),
        "config_hash": config_hash(ctx.config),
        "server_fingerprint": lease.fingerprint if lease else "",
        "server_pid": lease.pid if lease else None,
        "server_reused": lease.reused if lease else False,
        "simulated": lease.simulated if lease else server_kind(spec.server.kind).simulated,
    }
    if spec.gpus_per_job:
        extras["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    return extras


def write_data_files(ctx: JobContext, outcome: Outcome) -> str | None:
    """The job dir's files but result.json, each tried whatever happened to the others; the
    first failure as `cannot write PATH: why`."""
    writes: dict[str, Callable[[Path], None]] = {}
    if (records := outcome.records) is not None:
        writes[jobdir.REQUESTS] = lambda path: jobdir.atomic_write(path, records.to_parquet)
    if (scraped := outcome.server_metrics) is not None and len(scraped):
        writes[jobdir.SERVER_METRICS] = lambda path: jobdir.atomic_write(path, scraped.to_parquet)
    if (lease := outcome.lease) is not None and (log_path := lease.log_path) is not None:
        writes[jobdir.SERVER_LOG] = lambda path: jobdir.copy_log_slice(
            log_path, path, lease.log_offset
        )
    failure = None
    for name, write in writes.items():
        try:
            write(ctx.job_dir / name)
        except OSError as e:
            failure = failure or f"cannot write {ctx.job_dir / name}: {os_error_text(e)}"
    return failure


def report(spec: RunSpec, ctx: JobContext, outcome: Outcome) -> None:
    where = f"job {ctx.job_num}" if ctx.multirun else "job"
    if outcome.ok and spec.print_result:
        from sweeper.job.console import result_block

        title = "Serving Benchmark Result"
        if outcome.summary["sweeper"]["simulated"]:
            title += " (SIMULATED server)"
        print(result_block(outcome.summary, title), flush=True)
    if not outcome.ok:
        error = redact_text(outcome.error)
        print(f"[sweeper] {where} {outcome.status}: {error}", file=sys.stderr, flush=True)
    if outcome.lease is not None and not outcome.lease.reused:
        log.info("%s started server pid %s", where, outcome.lease.pid)
