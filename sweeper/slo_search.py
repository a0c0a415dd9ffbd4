"""SLO capacity search, free of Hydra (the `hydra/sweeper=slo_search` plugin drives it): SLO
checks on a job's summary and a bisection of the load.

The load parameter is assumed monotone: above the capacity some SLO fails, below it every SLO
holds. The bracket [low, high] starts unmeasured (low assumed to pass, high to fail) and each
trial halves it (geometrically for request_rate, on integers for concurrency) until it is within
`tolerance` or the trial budget is spent. The answer is the highest load measured to pass; when no
trial failed it is flagged `at_upper_bound` (capacity >= answer), when none passed the answer is
None (capacity below the lowest load tried; `low` itself is tried with the last trial).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from instruments.errors import ConfigError

PARAMS = ("request_rate", "concurrency")
_METRIC = re.compile(r"^(mean|median|std|p\d+(\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")


@dataclass(frozen=True)
class Trial:
    load: float
    passed: bool
    # why it failed: "p99_ttft_ms=812.3>500", "job FAILED: ...", ...
    reasons: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class SearchResult:
    capacity: float | None
    trials: list[Trial]
    # the bracket the capacity lies in when the search stopped
    low: float
    high: float
    at_upper_bound: bool = False


def validate_slo(slo: Mapping[str, float], percentiles: list[float]) -> None:
    """One-line ConfigError naming the key, before anything runs."""
    if not slo:
        raise ConfigError("hydra.sweeper.slo: give at least one bound, e.g. p99_ttft_ms: 500")
    for key, bound in slo.items():
        where = f"hydra.sweeper.slo.{key}"
        m = _METRIC.match(key)
        if m is None and key not in ("failed_fraction",):
            raise ConfigError(
                f"{where}: not a latency metric of the summary (e.g. p99_ttft_ms, mean_tpot_ms)"
            )
        if m is not None and m.group(1).startswith("p"):
            pct = float(m.group(1)[1:])
            if pct not in [float(p) for p in percentiles]:
                raise ConfigError(
                    f"{where}: percentile {pct:g} is not in percentiles {percentiles}"
                )
        least = 0.0 if key == "failed_fraction" else 1e-12
        if not isinstance(bound, int | float) or not math.isfinite(bound) or bound < least:
            sign = "non-negative" if least == 0 else "positive"
            raise ConfigError(f"{where}: must be a {sign} number, got {bound!r}")


def validate_range(param: str, low: float, high: float, max_trials: int) -> None:
    if param not in PARAMS:
        raise ConfigError(f"hydra.sweeper.param: one of {', '.join(PARAMS)}, got {param!r}")
    if not (0 < low < high) or not math.isfinite(high):
        raise ConfigError(f"hydra.sweeper.low/high: need 0 < low < high, got {low:g}, {high:g}")
    if max_trials < 1:
        raise ConfigError(f"hydra.sweeper.max_trials: must be >= 1, got {max_trials}")


def check(summary: Mapping[str, Any] | None, slo: Mapping[str, float]) -> tuple[bool, list[str]]:
    """Does a job's summary meet every SLO? (a job that did not finish does not)"""
    if not summary:
        return False, ["job returned no summary"]
    extras = summary.get("sweeper", {})
    status = extras.get("status", "FINISHED") if isinstance(extras, Mapping) else "FINISHED"
    if status != "FINISHED":
        return False, [f"job {status}: {extras.get('error', '')}"[:200]]
    reasons = []
    completed = float(summary.get("completed", 0) or 0)
    failed = float(summary.get("failed", 0) or 0)
    for key, bound in slo.items():
        value: Any = (
            failed / max(1.0, completed + failed) if key == "failed_fraction" else summary.get(key)
        )
        if not isinstance(value, int | float) or not math.isfinite(value) or value > bound:
            shown = f"{value:.4g}" if isinstance(value, int | float) else repr(value)
            reasons.append(f"{key}={shown}>{bound:g}")
    return not reasons, reasons


def next_load(low: float, high: float, integer: bool) -> float | None:
    """The midpoint of the bracket (geometric; integers for concurrency), None when no load is
    strictly inside it."""
    mid = math.sqrt(low * high)
    if integer:
        mid = float(round(mid))
        if mid <= low:
            mid = low + 1
        if mid >= high:
            return None
    return mid


def bisect(
    run: Callable[[float], Trial],
    low: float,
    high: float,
    max_trials: int,
    tolerance: float = 0.05,
    integer: bool = False,
) -> SearchResult:
    """Highest passing load in [low, high] within `max_trials` calls of `run` (see module doc)."""
    lo, hi = (float(math.ceil(low)), float(math.floor(high))) if integer else (low, high)
    start_lo = lo
    trials: list[Trial] = []
    best: float | None = None
    failed_any = tried_low = False
    while len(trials) < max_trials:
        # nothing passed yet: keep one trial to see whether even the lowest load is within SLOs
        must_try_low = best is None and failed_any and not tried_low
        x: float | None = None
        if must_try_low and len(trials) == max_trials - 1:
            x = start_lo
        elif hi / lo - 1 > tolerance:
            x = next_load(lo, hi, integer)
        if x is None and must_try_low:
            x = start_lo
        if x is None:
            break
        tried_low = tried_low or x == start_lo
        trial = run(x)
        trials.append(trial)
        if trial.passed:
            best, lo = x, x
        else:
            failed_any, hi = True, x
            if x == start_lo:
                break
    return SearchResult(best, trials, lo, hi, at_upper_bound=best is not None and not failed_any)
