"""A finished (or failed) job as an MLflow child run: tags, params, metrics, series, artifacts."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from instruments.redact import redact_file, redact_text
from sweeper.job.context import JobContext, params
from sweeper.tracking import sidecar
from sweeper.tracking.mlflow_client import JobRunEntry, TrackingError, numeric_items
from sweeper.tracking.step_metrics import job_series

if TYPE_CHECKING:
    from sweeper.job.outcome import Outcome
    from sweeper.schema import RunSpec, TrackingConfig
    from sweeper.tracking.sweep_run import SweepRun

log = logging.getLogger(__name__)


def job_tags(spec: RunSpec, ctx: JobContext, outcome: Outcome) -> dict[str, str]:
    extras = outcome.summary["sweeper"]
    tags = {
        "sweeper.kind": "job",
        "sweeper.job_num": str(ctx.job_num),
        "sweeper.job_dir": str(ctx.job_dir.resolve()),
        "sweeper.overrides": extras["overrides"],
        "sweeper.config_hash": extras["config_hash"],
        "sweeper.server_fingerprint": extras["server_fingerprint"],
        "sweeper.server_pid": str(extras["server_pid"]),
        "sweeper.server_reused": str(extras["server_reused"]).lower(),
        "sweeper.simulated": str(extras["simulated"]).lower(),
    }
    if outcome.error:
        tags["sweeper.error"] = outcome.error[:5000]
    for key in ("saturated", "stopped_early"):
        if key in extras:
            tags[f"sweeper.{key}"] = str(bool(extras[key])).lower()
    if extras.get("saturation_reason"):
        tags["sweeper.saturation_reason"] = str(extras["saturation_reason"])[:5000]
    tags.update(environment_tags(getattr(spec.server, "executable", None)))
    # an error message or a path may quote a remembered secret
    return {k: redact_text(v) for k, v in tags.items()}


@functools.lru_cache(maxsize=4)
def environment_tags(executable: str | None) -> dict[str, str]:
    """vllm/torch versions from the server's interpreter (vLLM's venv), GPU, host, git sha."""
    from sweeper.telemetry.environment import capture

    try:
        return capture(executable)
    except Exception as e:  # environment capture must never fail a job
        log.debug("environment capture failed: %s", e)
        return {}


def record_job(
    spec: RunSpec, ctx: JobContext, outcome: Outcome, parent_id: str | None, sweep: SweepRun
) -> None:
    """The job's child run, recorded by the tracking helper while the next job prepares (or
    here, without one); what went wrong becomes a sweep warning either way."""
    redact_job_dir(ctx.job_dir)
    if not spec.tracking.enabled:
        return
    # the repeat axis is always swept (range(repeats)); name it only when there are repeats
    shown = [o for o in ctx.overrides if spec.repeats > 1 or not o.startswith("repeat=")]
    metrics = dict(numeric_items(outcome.summary))
    metrics.update(flag_metrics(outcome.summary["sweeper"]))
    entry = JobRunEntry(
        job=f"job {ctx.job_num}",
        job_dir=ctx.job_dir,
        name=",".join(shown) or "job",
        tags=job_tags(spec, ctx, outcome),
        parent_id=parent_id,
        params=params(ctx.config),
        metrics=metrics,
        series=list(job_series(outcome)),
        log_artifacts=spec.tracking.log_artifacts,
        status=outcome.status,
    )

    def warn(problems: list[str]) -> None:
        for problem in problems:
            sweep.warn(problem)

    sidecar.asker().submit(
        "write_job_run", sidecar.absolute(spec.tracking), entry, done=warn,
        failed=lambda why: sweep.warn(entry.not_tracked(why)),
    )  # fmt: skip


FLAGS = ("saturated", "stopped_early")


def flag_metrics(extras: dict[str, object]) -> dict[str, float]:
    """The saturation flags also as 0/1 metrics (`sweeper.saturated`): MLflow's run table can
    show and sort a metric column, and analysis reads them like any metric."""
    return {f"sweeper.{k}": float(bool(extras[k])) for k in FLAGS if k in extras}


def record_skipped(
    tracking: TrackingConfig,
    ctx: JobContext,
    job_params: dict[str, str],
    extras: dict[str, object],
    parent_id: str | None,
    sweep: SweepRun,
) -> None:
    """A job skipped past the knee as a child run: params, tags `sweeper.status=SKIPPED` and
    the reason, status KILLED (MLflow's statuses have no "skipped"; resume reruns KILLED)."""
    tags = {
        "sweeper.kind": "job",
        "sweeper.job_num": str(ctx.job_num),
        "sweeper.job_dir": str(ctx.job_dir.resolve()),
        "sweeper.overrides": str(extras["overrides"]),
        "sweeper.config_hash": str(extras["config_hash"]),
        "sweeper.status": "SKIPPED",
        "sweeper.skipped_reason": str(extras["skipped_reason"])[:5000],
    }
    tracker = sidecar.tracker_for(tracking)
    name = ",".join(o for o in ctx.overrides if not o.startswith("repeat=")) or "job"
    try:
        run_id = tracker.start_run(name, {k: redact_text(v) for k, v in tags.items()}, parent_id)
        tracker.log_job(run_id, job_params, {})
        tracker.end_run(run_id, "KILLED")
    except TrackingError as e:
        sweep.warn(f"job {ctx.job_num} (skipped) not tracked: {e}")


# files that hold no text, or too much to scan for what the writers already redact
_NOT_SCANNED = (".parquet",)
_MAX_SCANNED = 64 << 20


def redact_job_dir(job_dir: Path) -> list[Path]:
    """Last line of defence before the job dir becomes artifacts: remembered secrets in its text
    files (a server log that echoed one, a traceback) are replaced by `***`. The job's own log
    is left alone (its handler redacts; replacing the file would cut the handler off)."""
    open_logs = {
        Path(h.baseFilename)
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler)
    }
    rewritten = []
    for path in sorted(job_dir.rglob("*")):
        if "servers" in path.relative_to(job_dir).parts[:1] or path.suffix in _NOT_SCANNED:
            continue
        try:
            if not path.is_file() or path.stat().st_size > _MAX_SCANNED or path in open_logs:
                continue
        except OSError:
            continue
        if redact_file(path):
            rewritten.append(path)
    return rewritten
