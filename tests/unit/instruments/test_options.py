"""Config fields that carry their help and limits."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import pytest

from instruments.errors import ConfigError
from instruments.options import check_limits, field_help, limit_errors, option


@dataclass
class Inner:
    rate: float = option(1.0, "requests per second", gt=0)


@dataclass
class Outer:
    workers: int = option(1, "client processes", ge=1, le=64)
    mode: str = option("rate", "how requests are sent", choices=("rate", "trace"))
    cap: int | None = option(None, "null = no cap", ge=1)
    inner: Inner = field(default_factory=Inner)
    tags: list[str] = option(default_factory=list, help="free text")


def _field(name: str) -> dataclasses.Field:  # type: ignore[type-arg]
    return next(f for f in dataclasses.fields(Outer) if f.name == name)


def test_help_carries_the_limits_in_words() -> None:
    assert field_help(_field("workers")) == "client processes [>= 1; <= 64]"
    assert field_help(_field("mode")) == "how requests are sent [one of rate, trace]"
    assert field_help(_field("tags")) == "free text"
    assert Outer().tags == [] and Outer().tags is not Outer().tags  # a factory per instance


def test_values_inside_the_limits_and_none_pass() -> None:
    check_limits(Outer(workers=64, mode="trace", cap=None), "load.")


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (Outer(workers=0), "load.workers: must be >= 1, got 0"),
        (Outer(workers=65), "load.workers: must be <= 64, got 65"),
        (Outer(mode="poisson"), "load.mode: must be one of 'rate', 'trace', got 'poisson'"),
        (Outer(cap=0), "load.cap: must be >= 1, got 0"),
        (Outer(inner=Inner(rate=0.0)), "load.inner.rate: must be > 0, got 0.0"),
        (Outer(inner=Inner(rate=math.nan)), "load.inner.rate: must be a number, got nan"),
    ],
)
def test_a_value_outside_its_limits_is_one_line_naming_the_dotted_key(
    node: Outer, message: str
) -> None:
    assert list(limit_errors(node, "load.")) == [message]
    with pytest.raises(ConfigError) as err:
        check_limits(node, "load.")
    assert str(err.value) == message
