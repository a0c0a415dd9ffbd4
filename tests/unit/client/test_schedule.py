from __future__ import annotations

import numpy as np
import pytest

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig
from sweeper.client.schedule import (
    check_load,
    duration_offsets,
    rate_at,
    rate_offsets,
    trace_offsets,
)


def test_poisson_offsets_are_seeded_cumulative_and_end_at_n_over_rate() -> None:
    load = LoadConfig(request_rate=50.0, seed=7)
    a, b = rate_offsets(load, 2000), rate_offsets(load, 2000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, rate_offsets(LoadConfig(request_rate=50.0, seed=8), 2000))
    assert np.all(np.diff(a) >= 0) and a[0] > 0
    assert a[-1] == pytest.approx(2000 / 50.0)
    gaps = np.diff(a)
    # exponential gaps: coefficient of variation 1
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.1)


def test_gamma_burstiness_changes_the_spread_not_the_rate() -> None:
    smooth = np.diff(rate_offsets(LoadConfig(request_rate=10.0, burstiness=4.0), 4000))
    bursty = np.diff(rate_offsets(LoadConfig(request_rate=10.0, burstiness=0.25), 4000))
    # gamma(k): CV = 1/sqrt(k)
    assert smooth.std() / smooth.mean() == pytest.approx(0.5, abs=0.05)
    assert bursty.std() / bursty.mean() == pytest.approx(2.0, abs=0.3)
    even = np.diff(rate_offsets(LoadConfig(request_rate=10.0, burstiness=float("inf")), 10))
    assert np.allclose(even, 0.1)


def test_infinite_rate_sends_everything_at_zero() -> None:
    assert rate_offsets(LoadConfig(), 5).tolist() == [0.0] * 5


def test_ramp_up_rates() -> None:
    lin = LoadConfig(ramp_up_strategy="linear", ramp_up_start_rps=1, ramp_up_end_rps=11)
    assert [rate_at(lin, i, 11) for i in (0, 5, 10)] == [1.0, 6.0, 11.0]
    exp = LoadConfig(ramp_up_strategy="exponential", ramp_up_start_rps=1, ramp_up_end_rps=100)
    assert rate_at(exp, 5, 11) == pytest.approx(10.0)
    offsets = rate_offsets(LoadConfig(**{**lin.__dict__, "burstiness": float("inf")}), 11)
    assert np.diff(offsets)[0] == pytest.approx(1 / 2)
    assert np.diff(offsets)[-1] == pytest.approx(1 / 11)


def test_duration_offsets_cover_the_window() -> None:
    offsets = duration_offsets(LoadConfig(request_rate=100.0, seed=1), 20.0)
    assert offsets.max() < 20.0 and len(offsets) == pytest.approx(2000, rel=0.1)
    with pytest.raises(ConfigError, match="duration_s"):
        duration_offsets(LoadConfig(), 1.0)


def test_trace_offsets_shift_and_speed_up() -> None:
    assert trace_offsets([10.0, 12.0, 11.0], 2.0).tolist() == [0.0, 1.0, 0.5]
    with pytest.raises(ConfigError, match="request 1 has no timestamp"):
        trace_offsets([1.0, None], 1.0)


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("concurrency", 0, "load.concurrency"),
        ("request_rate", 0.0, "load.request_rate"),
        ("burstiness", -1.0, "load.burstiness"),
        ("schedule", "poisson", "load.schedule"),
        ("ramp_up_strategy", "cubic", "load.ramp_up_strategy"),
        ("duration_s", 0.0, "load.duration_s"),
        ("request_timeout_s", 0.0, "load.request_timeout_s"),
    ],
)
def test_bad_load_values_name_the_key(field: str, value: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key) as err:
        check_load(LoadConfig(**{field: value}))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_ramp_needs_both_ends() -> None:
    with pytest.raises(ConfigError, match="ramp_up_start_rps"):
        check_load(LoadConfig(ramp_up_strategy="linear", ramp_up_start_rps=1.0))


def test_duration_does_not_combine_with_ramp_or_trace() -> None:
    ramp = LoadConfig(duration_s=5.0, ramp_up_strategy="linear", ramp_up_start_rps=1.0,
                      ramp_up_end_rps=2.0)  # fmt: skip
    with pytest.raises(ConfigError, match=r"load\.ramp_up_strategy"):
        check_load(ramp)
    with pytest.raises(ConfigError, match="schedule=trace"):
        check_load(LoadConfig(duration_s=5.0, schedule="trace"))
