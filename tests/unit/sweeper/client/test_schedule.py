from __future__ import annotations

import numpy as np
import pytest

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig
from sweeper.client.schedules.rate import duration_offsets, rate_at, rate_offsets
from sweeper.client.schedules.trace import trace_offsets


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
        LoadConfig(**{field: value}).validate()  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_ramp_needs_both_ends() -> None:
    with pytest.raises(ConfigError, match="ramp_up_start_rps"):
        LoadConfig(ramp_up_strategy="linear", ramp_up_start_rps=1.0).validate()


def test_duration_does_not_combine_with_ramp_or_trace() -> None:
    ramp = LoadConfig(duration_s=5.0, ramp_up_strategy="linear", ramp_up_start_rps=1.0,
                      ramp_up_end_rps=2.0)  # fmt: skip
    with pytest.raises(ConfigError, match=r"load\.ramp_up_strategy"):
        ramp.validate()
    with pytest.raises(ConfigError, match="schedule=trace"):
        LoadConfig(duration_s=5.0, schedule="trace").validate()


def test_every_load_yaml_schedule_is_registered() -> None:
    from pathlib import Path

    from omegaconf import OmegaConf

    from sweeper.client.schedules import SCHEDULES

    conf = Path(__file__).resolve().parents[4] / "conf" / "load"
    used = {OmegaConf.load(p).get("schedule", "rate") for p in conf.glob("*.yaml")}
    assert used <= set(SCHEDULES.names()) == {"rate", "trace"}


def test_make_schedule_picks_the_variant() -> None:
    from sweeper.client.runner import make_schedule
    from sweeper.records import RequestSpec

    specs = [RequestSpec(prompt="p", prompt_len=1, output_len=1, arrival_s=t) for t in (3.0, 1.0)]
    trace = make_schedule(LoadConfig(schedule="trace", trace_speedup=2.0), specs)
    assert trace.offsets.tolist() == [1.0, 0.0] and not trace.closed_duration
    closed = make_schedule(LoadConfig(duration_s=2.0, concurrency=4), specs)
    assert closed.closed_duration and closed.count == 0
    with pytest.raises(ConfigError, match="needs concurrency"):
        make_schedule(LoadConfig(duration_s=2.0), specs)
    with pytest.raises(ConfigError, match="no requests to send"):
        make_schedule(LoadConfig(), [])
    with pytest.raises(ConfigError, match=r"load\.schedule: must be 'rate' or 'trace', got 'x'"):
        make_schedule(LoadConfig(schedule="x"), specs)


def test_limits_of_load_fields_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^load\.workers: must be >= 1, got 0$"):
        LoadConfig(workers=0).validate()
    with pytest.raises(ConfigError, match=r"^load\.trace_speedup: must be > 0, got 0\.0$"):
        LoadConfig(trace_speedup=0.0).validate()
    with pytest.raises(ConfigError, match="workers need concurrency >= workers"):
        LoadConfig(workers=4, concurrency=2).validate()
