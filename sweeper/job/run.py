"""One job (one grid point): validate → server → sample → client → metrics → job dir → MLflow.

A job never raises for a failure of its own (bad input, dead server, MLflow down): it records the
failure in its job dir and as a FAILED MLflow run, and the sweep goes on. Only Ctrl-C / SIGTERM
propagate (after the job is recorded as KILLED).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from instruments.errors import SweeperError
from launchers.kinds import server_kind
from sweeper.job import jobdir, resume
from sweeper.job.context import JobContext, config_hash
from sweeper.job.outcome import Outcome
from sweeper.job.prepare import Prepared, prepare
from sweeper.telemetry.watch import ServerWatch
from sweeper.tracking.job_run import record_job

if TYPE_CHECKING:
    from sweeper.runtime import Pool, Runtime
    from sweeper.schema import RunSpec
    from sweeper.tracking.sweep_run import SweepRun

log = logging.getLogger(__name__)


def run_job(spec: RunSpec, ctx: JobContext, runtime: Runtime) -> dict[str, Any]:
    parent_id = None
    if ctx.sweep_dir is not None:
        parent_id = runtime.sweep.open(ctx.sweep_dir, spec.tracking, [])
    outcome = Outcome()
    try:
        if (
            spec.resume
            and (done := resume.carried(spec, ctx, parent_id, runtime.sweep)) is not None
        ):
            return done
        prepared = prepare(spec)
        runtime.gpus.ensure(
            spec.gpus_per_job, spec.gpu_ids, ctx.gpu_lock_dir, spec.server.ready_timeout_s
        )
        outcome.lease = runtime.pool.acquire(prepared.model, spec.server, ctx.servers_dir)
        measure(spec, prepared, outcome, runtime.pool)
    except SweeperError as e:
        outcome.error = str(e)
    except Exception as e:
        outcome.error = f"{type(e).__name__}: {e}"
        jobdir.write_text(ctx.job_dir / jobdir.ERROR_LOG, traceback.format_exc())
    except BaseException:
        outcome.status, outcome.error = "KILLED", "interrupted"
        finish(spec, ctx, outcome, parent_id, runtime.sweep)
        raise
    finish(spec, ctx, outcome, parent_id, runtime.sweep)
    return outcome.summary


def measure(spec: RunSpec, prepared: Prepared, outcome: Outcome, pool: Pool) -> None:
    """Drive the load against the leased server; nothing but the client runs in the loop."""
    from sweeper.client.frame import records_frame
    from sweeper.client.runner import run_benchmark
    from sweeper.features.metrics import feature_metrics
    from sweeper.metrics import summarize, time_series

    lease = outcome.lease
    assert lease is not None
    watch = ServerWatch(lease.base_url, spec.server.metrics_interval_s)
    watch.start()
    try:
        run = asyncio.run(
            run_benchmark(lease.base_url, prepared.model.name, prepared.requests, spec.load)
        )
    finally:
        outcome.server_metrics = watch.stop()
    outcome.summary = summarize(run, spec.slo, list(spec.percentiles))
    outcome.summary["sweeper"].update(
        feature_metrics(run, prepared.requests, list(spec.percentiles), outcome.server_metrics)
    )
    outcome.records = records_frame(run.records)
    outcome.series = time_series(run)
    completed = int(outcome.summary.get("completed", 0))
    if lease.pid is not None and not pool.server_alive():
        outcome.error = f"server (pid {lease.pid}) exited during the benchmark"
    elif completed == 0:
        outcome.error = "no request completed: " + _top_error(outcome.summary)
    else:
        outcome.status = "FINISHED"


def _top_error(summary: dict[str, Any]) -> str:
    errors = summary.get("sweeper", {}).get("errors_by_reason", {})
    if isinstance(errors, dict) and errors:
        return max(errors.items(), key=lambda kv: kv[1])[0]
    return "unknown error"


def finish(
    spec: RunSpec, ctx: JobContext, outcome: Outcome, parent_id: str | None, sweep: SweepRun
) -> None:
    """Write the job dir, then track it, then tell the user."""
    outcome.summary = {**outcome.summary, "sweeper": result_extras(spec, ctx, outcome)}
    write_job_dir(ctx, outcome)
    record_job(spec, ctx, outcome, parent_id, sweep)
    sweep.job_finished(outcome.ok)
    report(spec, ctx, outcome)


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


def write_job_dir(ctx: JobContext, outcome: Outcome) -> None:
    d = ctx.job_dir
    if outcome.records is not None:
        jobdir.atomic_write(d / jobdir.REQUESTS, outcome.records.to_parquet)
    if outcome.server_metrics is not None and len(outcome.server_metrics):
        jobdir.atomic_write(d / jobdir.SERVER_METRICS, outcome.server_metrics.to_parquet)
    lease = outcome.lease
    if lease is not None and lease.log_path is not None:
        jobdir.copy_log_slice(lease.log_path, d / jobdir.SERVER_LOG, lease.log_offset)
    jobdir.write_json(d / jobdir.RESULT, outcome.summary)


def report(spec: RunSpec, ctx: JobContext, outcome: Outcome) -> None:
    where = f"job {ctx.job_num}" if ctx.multirun else "job"
    if outcome.ok and spec.print_result:
        from sweeper.job.console import result_block

        title = "Serving Benchmark Result"
        if outcome.summary["sweeper"]["simulated"]:
            title += " (SIMULATED server)"
        print(result_block(outcome.summary, title), flush=True)
    if not outcome.ok:
        print(f"[sweeper] {where} {outcome.status}: {outcome.error}", file=sys.stderr, flush=True)
    if outcome.lease is not None and not outcome.lease.reused:
        log.info("%s started server pid %s", where, outcome.lease.pid)
