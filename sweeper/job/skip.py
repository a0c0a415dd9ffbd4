"""Skip past the knee (`saturation.skip_past_knee`): in a -m sweep whose load axis
(`concurrency` or `request_rate`, or their `load.` forms) ascends, a point is not run when a
lower point of the same series (every other override equal, the repeat aside) already ran
saturated. It still leaves a job dir (`result.json`, `sweeper.status` = SKIPPED and the reason)
and an MLflow child run: status KILLED (MLflow has no "skipped"; KILLED = not run to its end, so
`resume=true` runs it again) with the tag `sweeper.status=SKIPPED`.

The sweep dir's job dirs are the truth: a job reads its siblings' `result.json` and
`.hydra/overrides.yaml` when it starts; a job that sees no finished sibling there (a cluster
worker without the shared sweep dir) asks MLflow for the sweep run's children tagged
`sweeper.saturated=true`, their params standing in for the overrides. With the BasicSweeper and
a sequential launcher (basic) every lower point has finished by then. With a parallel launcher
(joblib, submitit, Ray) jobs that start together cannot see each other, so a point above the
knee may run anyway; a point is never skipped wrongly. Other sweepers (slo_search, optuna)
choose their own points: nothing is skipped there. A carried result (`resume=true`,
`sweeper.resumed_from`) skips nothing, so `resume=true` runs the points an earlier sweep
skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from instruments.redact import redact_override
from sweeper.job import jobdir
from sweeper.job.context import JobContext, config_hash, params
from sweeper.tracking.history import History
from sweeper.tracking.job_run import record_skipped
from sweeper.tracking.mlflow_client import TrackingError

if TYPE_CHECKING:
    from sweeper.schema import RunSpec
    from sweeper.tracking.sweep_run import SweepRun

LOAD_AXES = ("concurrency", "request_rate", "load.concurrency", "load.request_rate")
# the series does not change with these: repeats of a point are one point
NOT_SERIES = ("repeat",)
BASIC_SWEEPER = "BasicSweeper"
SKIPPED = "SKIPPED"


def as_map(overrides: list[str]) -> dict[str, str]:
    """`key=value` overrides as a map (`+`/`~` prefixes dropped)."""
    out = {}
    for item in overrides:
        key, _, value = item.partition("=")
        out[key.lstrip("+~")] = value.strip()
    return out


def load_value(text: str) -> float | None:
    """A load axis value as a number: `null` (no cap) and `inf` are infinite; None if not a
    number."""
    if text.lower() in ("null", "none", "inf", "+inf"):
        return math.inf
    try:
        return float(text)
    except ValueError:
        return None


def series_key(overrides: dict[str, str], axis: str) -> dict[str, str]:
    return {k: v for k, v in overrides.items() if k != axis and k not in NOT_SERIES}


def sibling_results(sweep_dir: Path, own: Path) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(overrides, result.json `sweeper` block) of the sweep's other finished job dirs."""
    out = []
    for result_path in sorted(sweep_dir.glob(f"*/{jobdir.RESULT}")):
        job_dir = result_path.parent
        if job_dir.resolve() == own.resolve():
            continue
        try:
            extras = json.loads(result_path.read_text()).get("sweeper", {})
            raw = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            continue
        if isinstance(extras, dict) and isinstance(raw, list):
            out.append((as_map([redact_override(str(o)) for o in raw]), extras))
    return out


def knee_below(
    mine: dict[str, str], siblings: list[tuple[dict[str, str], dict[str, Any]]]
) -> str | None:
    """Why this point is past the knee: a saturated sibling of the same series at a lower
    load; None when there is none."""
    for axis in (a for a in LOAD_AXES if a in mine):
        level = load_value(mine[axis])
        if level is None:
            continue
        series = series_key(mine, axis)
        for theirs, extras in siblings:
            if extras.get("saturated") is not True or extras.get("resumed_from"):
                continue
            lower = load_value(theirs.get(axis, ""))
            if lower is not None and lower < level and series_key(theirs, axis) == series:
                return (
                    f"past the knee: job {extras.get('job_num', '?')} ({axis}={theirs[axis]}) "
                    f"was saturated ({extras.get('saturation_reason', '')})"
                )
    return None


def basic_sweeper() -> bool:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return False
    target = str(HydraConfig.get().sweeper.get("_target_", ""))
    return target.endswith(BASIC_SWEEPER)


def mlflow_siblings(
    spec: RunSpec, parent_id: str, keys: list[str], sweep: SweepRun
) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """The sweep's saturated job runs in MLflow, their params standing in for overrides (a key
    whose param reads differently, `4` against `4.0`, makes no match: no skip)."""
    try:
        runs = History(spec.tracking).saturated_jobs(parent_id)
    except TrackingError as e:
        sweep.warn(f"skip past the knee: MLflow lookup failed, the job runs: {e}")
        return []
    extras = {"saturated": True, "saturation_reason": "tag sweeper.saturated in MLflow"}
    return [
        ({k: run.params[k] for k in keys if k in run.params}, {**extras, "job_num": run.run_id[:8]})
        for run in runs
    ]


def past_knee(spec: RunSpec, ctx: JobContext, parent_id: str | None, sweep: SweepRun) -> str | None:
    """The reason to skip this job, None to run it. The sweep dir first; MLflow (the parent
    run's saturated children) when this host sees no finished sibling there (job 0, first in
    the BasicSweeper's order, has none to ask about)."""
    cfg = spec.saturation
    if not (cfg.skip_past_knee and cfg.detect and ctx.sweep_dir is not None):
        return None
    mine = as_map(ctx.overrides)
    if not any(a in mine for a in LOAD_AXES) or not basic_sweeper():
        return None
    siblings = sibling_results(ctx.sweep_dir, ctx.job_dir)
    if not siblings and ctx.job_num > 0 and spec.tracking.enabled and parent_id:
        siblings = mlflow_siblings(spec, parent_id, list(mine), sweep)
    return knee_below(mine, siblings)


def record_skip(
    spec: RunSpec, ctx: JobContext, reason: str, parent_id: str | None, sweep: SweepRun
) -> dict[str, Any]:
    """The skipped job's dir, MLflow run, count and console line; its summary."""
    summary = {
        "sweeper": {
            "status": SKIPPED,
            "error": "",
            "skipped_reason": reason,
            "job_num": ctx.job_num,
            "overrides": ",".join(ctx.overrides),
            "config_hash": config_hash(ctx.config),
        }
    }
    jobdir.write_json(ctx.job_dir / jobdir.RESULT, summary)
    if spec.tracking.enabled:
        record_skipped(spec.tracking, ctx, params(ctx.config), summary["sweeper"], parent_id, sweep)
    sweep.job_skipped()
    print(f"[sweeper] job {ctx.job_num} skipped: {reason}", flush=True)
    return summary
