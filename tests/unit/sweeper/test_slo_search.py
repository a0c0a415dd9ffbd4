"""SLO capacity search logic: SLO checks on summaries, bisection within a trial budget."""

from __future__ import annotations

import pytest

from instruments.errors import ConfigError
from sweeper.slo_search import Trial, bisect, check, validate_range, validate_slo

SLO = {"p99_ttft_ms": 500.0, "p99_tpot_ms": 50.0, "failed_fraction": 0.0}


def knee_at(capacity: float, calls: list[float]):
    def run(x: float) -> Trial:
        calls.append(x)
        return Trial(x, x <= capacity)

    return run


@pytest.mark.parametrize("capacity", [1.7, 5.0, 18.9, 40.0, 63.0])
def test_bisection_finds_capacity_within_tolerance_in_eight_trials(capacity: float) -> None:
    calls: list[float] = []
    r = bisect(knee_at(capacity, calls), 1.0, 64.0, max_trials=8, tolerance=0.05)
    assert len(calls) <= 8
    assert r.capacity is not None and r.capacity <= capacity
    assert capacity / r.capacity - 1 < 0.05
    assert r.low <= capacity < r.high


def test_concurrency_is_searched_on_integers() -> None:
    calls: list[float] = []
    r = bisect(knee_at(23, calls), 1, 256, max_trials=10, integer=True)
    assert all(c == int(c) for c in calls)
    assert r.capacity == 23 and r.high == 24


def test_everything_passing_is_flagged_at_upper_bound() -> None:
    calls: list[float] = []
    r = bisect(knee_at(1000, calls), 1.0, 64.0, max_trials=8)
    assert r.at_upper_bound and r.capacity is not None and r.capacity > 60


def test_nothing_passing_tries_low_itself_and_reports_none() -> None:
    calls: list[float] = []
    r = bisect(knee_at(0.5, calls), 1.0, 64.0, max_trials=4)
    assert r.capacity is None
    assert calls[-1] == 1.0 and len(calls) == 4


def test_check_names_each_missed_slo_and_fails_unfinished_jobs() -> None:
    good = {"p99_ttft_ms": 120.0, "p99_tpot_ms": 9.0, "completed": 100, "failed": 0}
    assert check(good, SLO) == (True, [])
    ok, why = check({**good, "p99_ttft_ms": 812.3, "failed": 3}, SLO)
    assert not ok and why == ["p99_ttft_ms=812.3>500", "failed_fraction=0.02913>0"]
    ok, why = check({"sweeper": {"status": "FAILED", "error": "server died"}}, SLO)
    assert not ok and "FAILED: server died" in why[0]
    assert check({"p99_tpot_ms": 1.0}, {"p99_ttft_ms": 1.0})[0] is False


def test_bad_slo_and_range_are_one_line_errors_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.slo.p99_ttft: not a latency metric"):
        validate_slo({"p99_ttft": 500}, [50, 99])
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.slo.p95_ttft_ms: percentile 95"):
        validate_slo({"p95_ttft_ms": 500}, [50, 99])
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.slo.mean_tpot_ms: must be a positive"):
        validate_slo({"mean_tpot_ms": -1}, [99])
    validate_slo(SLO, [50.0, 99.0])
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.param: one of request_rate"):
        validate_range("num_prompts", 1, 2, 8)
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.low/high"):
        validate_range("request_rate", 8, 2, 8)
