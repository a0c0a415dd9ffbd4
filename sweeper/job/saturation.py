"""A job's saturation: the early stop handed to the client, and the verdict after the run
(`saturated`, `saturation_reason`, `stopped_early` in result.json's `sweeper` block)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sweeper.client.early_stop import SATURATED, EarlyStop
from sweeper.metrics.saturation import assess, is_open_loop, job_series

if TYPE_CHECKING:
    import pandas as pd

    from sweeper.client.benchmark_run import BenchmarkRun
    from sweeper.client.config import LoadConfig
    from sweeper.schema import RunSpec
    from sweeper.telemetry.watch import ServerWatch


def open_loop(load: LoadConfig) -> bool:
    return is_open_loop(load.request_rate, load.ramp_up_strategy, load.schedule)


def early_stop_for(spec: RunSpec, watch: ServerWatch) -> EarlyStop | None:
    """The client's early stop under `saturation.early_stop`, None when off for this job."""
    cfg = spec.saturation
    looped = open_loop(spec.load)
    if not cfg.detect or cfg.early_stop == "never" or spec.load.workers > 1:
        return None
    if cfg.early_stop == "open_loop" and not looped:
        return None
    return EarlyStop(cfg, looped, watch.latest_scrape)


def stopped_early(run: BenchmarkRun) -> str:
    """The early stop's reason when it stopped the run, else ""."""
    reason = run.stopped_reason
    return reason.removeprefix(SATURATED) if reason.startswith(SATURATED) else ""


def saturation_extras(
    spec: RunSpec, run: BenchmarkRun, scrapes: pd.DataFrame | None
) -> dict[str, Any]:
    """result.json's saturation keys; {} with saturation.detect=false. A run the early stop cut
    short is saturated by that stop's reason whatever its shortened records say."""
    if not spec.saturation.detect:
        return {}
    load = spec.load
    verdict = assess(
        job_series(run.measured, scrapes), load.request_rate, open_loop(load), spec.saturation
    )
    extras = verdict.extras()
    early = stopped_early(run)
    extras["stopped_early"] = bool(early)
    if early:
        extras["saturated"] = True
        extras["saturation_reason"] = "; ".join(
            r for r in (f"early stop: {early}", verdict.reason) if r
        )
    return extras
