"""Dry run for config reviews: `python -m sweeper.plan -m KEY=A,B ...` (or `python -m sweeper -m
... plan=true`) prints the grid without running it.

- the jobs in the BasicSweeper's order (product of the swept keys, the last key varying fastest),
- the server starts that order needs: a start whenever consecutive jobs' server fingerprints
  (`launchers.pool.fingerprint`) differ, with a hint when server keys vary too fast,
- an estimated time (measured durations of the same config hash from history, else
  num_prompts / request_rate, plus a server start per kind),
- the diff of the composed grid against the last sweep of the same experiment (its job runs'
  config hashes and MLflow params), and with `resume=true` the points a resume would skip,
- with `plan.k8s_dir=DIR`, the grid as Kubernetes Job manifests (sweeper.k8s).

Nothing is started and nothing is written (but the manifests asked for).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from instruments.errors import ConfigError
from launchers.kinds import server_kind
from launchers.pool import fingerprint
from sweeper.command_line import MULTIRUN_FLAGS, PLAN_FLAGS, PLAN_OPTION
from sweeper.job.context import config_hash, learn_secrets, params
from sweeper.tracking.history import History, SweepRecord
from sweeper.tracking.mlflow_client import TrackingError

# per-job overhead besides the benchmark itself (dataset, MLflow, job dir)
JOB_OVERHEAD_S = 2.0


@dataclass
class PlannedJob:
    num: int
    overrides: list[str]
    fingerprint: str
    config_hash: str
    server_kind: str
    params: dict[str, str]
    estimate_s: float | None
    starts_server: bool = False
    skipped_by_resume: bool = False
    # every override of the job (the swept ones and the fixed ones), as typed
    argv: list[str] = field(default_factory=list)


@dataclass
class Plan:
    jobs: list[PlannedJob]
    swept: list[str]
    tracking_line: str = ""
    last: SweepRecord | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def starts(self) -> int:
        return sum(j.starts_server for j in self.jobs if not j.skipped_by_resume)

    @property
    def distinct_servers(self) -> int:
        return len({j.fingerprint for j in self.jobs})

    def estimate_s(self) -> tuple[float, int]:
        """Estimated seconds and the number of jobs without an estimate."""
        total, unknown = 0.0, 0
        for job in self.jobs:
            if job.skipped_by_resume:
                continue
            if job.starts_server:
                total += server_kind(job.server_kind).expected_start_s
            if job.estimate_s is None:
                unknown += 1
            else:
                total += job.estimate_s + JOB_OVERHEAD_S
        return total, unknown


def grid(overrides: Sequence[str], sweeper_params: dict[str, str]) -> list[list[str]]:
    """The jobs' override lists in the BasicSweeper's order."""
    parser = OverridesParser.create()
    parsed = parser.parse_overrides([f"{k}={v}" for k, v in sweeper_params.items()] + [*overrides])
    return BasicSweeper.split_arguments(parsed, None)[0]


def _compose(conf_dir: str, overrides: list[str], hydra_node: bool = False) -> DictConfig:
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=hydra_node)


def _one_line(e: BaseException) -> str:
    if getattr(e, "full_key", None) is None and e.__cause__ is not None:
        e = e.__cause__
    key = getattr(e, "full_key", None)
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return f"config error{f' at {key}' if key else ''}: {msg}"


def make_plan(args: Sequence[str], conf_dir: str, history: bool = True) -> Plan:
    """Compose every grid point of `args` (CLI overrides, `-m` allowed) and plan the sweep."""
    from sweeper.schema import RunSpec, register

    register()
    # the plan's own options are no config keys (main reads and checks them)
    overrides = [a for a in args if a not in MULTIRUN_FLAGS and not a.startswith(PLAN_OPTION)]
    try:
        parser = OverridesParser.create()
        fixed = [
            o.input_line for o in parser.parse_overrides(overrides) if not o.is_sweep_override()
        ]
        base = _compose(conf_dir, [o for o in fixed if o is not None], hydra_node=True)
        sweeper_params = dict(OmegaConf.select(base, "hydra.sweeper.params") or {})
        job_overrides = grid(overrides, {k: str(v) for k, v in sweeper_params.items()})
        swept = _swept_keys(job_overrides)
        jobs: list[PlannedJob] = []
        spec: RunSpec | None = None
        for num, ovr in enumerate(job_overrides):
            cfg = _compose(conf_dir, ovr)
            learn_secrets(cfg)  # as the job does: its params and hash leave them out
            # a composed DictConfig's container is a dict with the config's string keys
            config = cast("dict[str, Any]", OmegaConf.to_container(cfg, resolve=True))
            spec = OmegaConf.to_object(cfg)  # type: ignore[assignment]
            assert isinstance(spec, RunSpec)
            jobs.append(
                PlannedJob(
                    num=num,
                    overrides=[o for o in ovr if o.split("=", 1)[0] in swept],
                    fingerprint=fingerprint(spec.model, spec.server),
                    config_hash=config_hash(config),
                    server_kind=spec.server.kind,
                    params=params(config),
                    estimate_s=_rate_estimate(spec.num_prompts, spec.load.request_rate),
                    argv=list(ovr),
                )
            )
    except (OmegaConfBaseException, HydraException) as e:
        raise ConfigError(_one_line(e)) from None
    plan = Plan(jobs=jobs, swept=swept)
    target = str(OmegaConf.select(base, "hydra.sweeper._target_") or "")
    if target and not target.endswith(".BasicSweeper"):
        plan.notes.append(
            f"hydra.sweeper is {target.rsplit('.', 1)[-1]}: it picks its own points; "
            "this is the BasicSweeper grid of the same overrides"
        )
    for prev, job in zip([None, *jobs], jobs, strict=False):
        job.starts_server = prev is None or prev.fingerprint != job.fingerprint
    if spec is not None and history:
        _add_history(plan, spec, resume=bool(getattr(spec, "resume", False)))
    _add_order_note(plan)
    if spec is not None and not (target and not target.endswith(".BasicSweeper")):
        _add_skip_note(plan, spec)
    return plan


def _add_skip_note(plan: Plan, spec: Any) -> None:
    """Skipping past the knee (sweeper.job.skip) may leave points of a load axis unrun."""
    from sweeper.job.skip import LOAD_AXES

    axes = [k for k in plan.swept if k in LOAD_AXES]
    cfg = spec.saturation
    if axes and cfg.skip_past_knee and cfg.detect:
        plan.notes.append(
            f"saturation.skip_past_knee: points of {', '.join(axes)} above the first saturated "
            "one of a server config are skipped (SKIPPED; resume=true runs them later), so the "
            "sweep may take less than the estimate; saturation.skip_past_knee=false runs all"
        )


def _rate_estimate(num_prompts: int, rate: float | None) -> float | None:
    if rate is None or not math.isfinite(rate) or rate <= 0:
        return None
    return num_prompts / rate


def _swept_keys(job_overrides: list[list[str]]) -> list[str]:
    """Keys whose value differs between jobs, in override order."""
    keys: dict[str, set[str]] = {}
    for ovr in job_overrides:
        for o in ovr:
            k, _, v = o.partition("=")
            keys.setdefault(k, set()).add(v)
    return [k for k, vals in keys.items() if len(vals) > 1]


def _add_history(plan: Plan, spec: Any, resume: bool) -> None:
    tracking = spec.tracking
    if not tracking.enabled:
        plan.notes.append("tracking disabled: no history to diff against")
        return
    plan.tracking_line = f"experiment {tracking.experiment!r} at {tracking.uri}"
    hist = History(tracking)
    try:
        plan.last = hist.last_sweep()
        durations = hist.durations({j.config_hash for j in plan.jobs})
        for job in plan.jobs:
            if job.config_hash in durations:
                job.estimate_s = durations[job.config_hash]
            if resume and hist.finished_run(job.config_hash) is not None:
                job.skipped_by_resume = True
    except TrackingError as e:
        plan.notes.append(f"history unavailable: {e}")
    if resume:
        # the first job a resume runs starts a server, whatever ran before it
        prev: PlannedJob | None = None
        for job in plan.jobs:
            if job.skipped_by_resume:
                continue
            job.starts_server = prev is None or prev.fingerprint != job.fingerprint
            prev = job


def _add_order_note(plan: Plan) -> None:
    starts, distinct = plan.starts, plan.distinct_servers
    if starts <= distinct:
        return
    server_keys = [k for k in plan.swept if k.split(".", 1)[0] in ("server", "model")]
    first = " ".join(server_keys) or "the server keys"
    plan.notes.append(
        f"server config changes between consecutive jobs: {starts} starts for {distinct} "
        f"distinct server configs; list {first} first in -m (slowest) to need {distinct}"
    )


def diff_lines(plan: Plan) -> list[str]:
    last = plan.last
    if last is None:
        return ["no earlier sweep in this experiment"]
    mine = {j.config_hash for j in plan.jobs}
    theirs = {j.config_hash for j in last.jobs}
    lines = [
        f"vs last sweep {last.name} (run {last.run_id[:8]}, {len(last.jobs)} jobs): "
        f"{len(mine & theirs)} same, {len(mine - theirs)} new, {len(theirs - mine)} dropped"
    ]
    keys = sorted(
        {k for j in plan.jobs for k in j.params} | {k for j in last.jobs for k in j.params}
    )
    for key in keys:
        now = {j.params.get(key, "<absent>") for j in plan.jobs}
        before = {j.params.get(key, "<absent>") for j in last.jobs}
        if now != before:
            lines.append(f"  {key}: {_values(before)} -> {_values(now)}")
    return lines


def _values(values: set[str]) -> str:
    def order(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    shown = sorted(values, key=order)
    text = ",".join(shown[:8]) + (f",… ({len(shown)})" if len(shown) > 8 else "")
    return "{" + text + "}"


def _duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def render(plan: Plan) -> str:
    skipped = sum(j.skipped_by_resume for j in plan.jobs)
    head = f"Plan: {len(plan.jobs)} jobs, {plan.starts} server starts (BasicSweeper order)"
    if skipped:
        head += f", {skipped} skipped by resume"
    lines = [head]
    if plan.tracking_line:
        lines.append(f"  tracking: {plan.tracking_line}")
    lines.append(f"  {'job':>4}  {'server':<9} {'est':>6}  overrides")
    for j in plan.jobs:
        mark = "skip" if j.skipped_by_resume else ("start" if j.starts_server else "reuse")
        est = "?" if j.estimate_s is None else _duration(j.estimate_s)
        server = f"{j.fingerprint[:8]}"
        lines.append(f"  {j.num:>4}  {server:<9} {est:>6}  {' '.join(j.overrides)}  [{mark}]")
    total, unknown = plan.estimate_s()
    est = f"Estimated time: ~{_duration(total)}"
    if unknown:
        est += f" + {unknown} job(s) without an estimate (closed loop, no history)"
    lines.append(est)
    lines.extend(f"note: {n}" for n in plan.notes)
    lines.append("Diff:")
    lines.extend(f"  {line}" for line in diff_lines(plan))
    return "\n".join(lines)


# `plan=true` is read before Hydra (it is no config key): these spellings route to the plan
def main(argv: Sequence[str] | None = None) -> int:
    from sweeper import k8s
    from sweeper.schema import CONF_DIR

    args = list(sys.argv[1:] if argv is None else argv)
    args = [a for a in args if a not in PLAN_FLAGS]
    try:
        k8s_opts, args = k8s.split_options(args)
        plan = make_plan(args, CONF_DIR)
        written = k8s.write_manifests(plan, k8s_opts) if k8s_opts.k8s_dir else []
    except ConfigError as e:
        print(f"[sweeper] {e}", file=sys.stderr)
        return 2
    print(render(plan), flush=True)
    if written:
        print(f"Kubernetes: {len(written)} Job manifests in {k8s_opts.k8s_dir} "
              f"(kubectl apply -f {k8s_opts.k8s_dir})", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
