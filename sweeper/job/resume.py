"""`resume=true`: skip a grid point whose config hash already has a FINISHED job run in the
experiment; FAILED, KILLED and never-run points run again.

A skipped job starts no server and creates no MLflow run. It stays visible: a console line, its
job dir's `result.json` carries the earlier result (with `sweeper.resumed_from`), the sweep's parent
run gets a tag `sweeper.resumed.<job_num>` = earlier run id, and the Hydra return value is the
carried summary (so search sweepers see it as a measured point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from instruments.errors import ConfigError
from sweeper.job import jobdir
from sweeper.job.context import JobContext, config_hash
from sweeper.tracking import sidecar
from sweeper.tracking.history import History
from sweeper.tracking.mlflow_client import TrackingError

if TYPE_CHECKING:
    from sweeper.schema import RunSpec
    from sweeper.tracking.sweep_run import SweepRun


def carried(
    spec: RunSpec, ctx: JobContext, parent_id: str | None, sweep: SweepRun
) -> dict[str, Any] | None:
    """The earlier summary of this grid point if it finished before, else None (run it)."""
    if not spec.tracking.enabled:
        raise ConfigError("resume: needs tracking (the FINISHED runs are looked up in MLflow)")
    h = config_hash(ctx.config)
    history = History(spec.tracking)
    try:
        run = history.finished_run(h)
    except TrackingError as e:
        sweep.warn(f"resume: lookup failed, job {ctx.job_num} runs again: {e}")
        return None
    if run is None:
        return None
    summary = history.result(run)
    extras = dict(summary.get("sweeper", {}))
    extras.update(
        {
            "status": "FINISHED",
            "resumed_from": run.run_id,
            "job_num": ctx.job_num,
            "overrides": ",".join(ctx.overrides),
            "config_hash": h,
        }
    )
    summary = {**summary, "sweeper": extras}
    jobdir.write_json(ctx.job_dir / jobdir.RESULT, summary)
    if parent_id:
        try:
            sidecar.tracker_for(spec.tracking).set_tags(
                parent_id, {f"sweeper.resumed.{ctx.job_num}": run.run_id}
            )
        except TrackingError as e:
            sweep.warn(f"resume: tag not set on the sweep run: {e}")
    sweep.job_finished(ok=True)
    where = f"job {ctx.job_num}" if ctx.multirun else "job"
    print(
        f"[sweeper] {where} skipped (resume): FINISHED run {run.run_id[:8]} has config hash {h}",
        flush=True,
    )
    return summary
