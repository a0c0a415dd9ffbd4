"""Seeded draws from a named distribution: the lengths of synthetic session turns and the
think time between turns (`dataset.turn_input_len.*`, `load.sessions.think_time_s.*`, …).

    kind=fixed        every draw is `mean`
    kind=uniform      uniform on [mean - spread, mean + spread]
    kind=normal       gaussian, std `spread`
    kind=lognormal    log-normal with mean `mean` and sigma `spread` (of the log)
    kind=exponential  exponential with mean `mean` (Poisson-like gaps)

Every draw is then clipped to [min, max] (max null = no upper bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option

DISTRIBUTIONS = ("fixed", "uniform", "normal", "lognormal", "exponential")


@dataclass
class Distribution:
    kind: str = option(
        "fixed", "fixed | uniform | normal | lognormal | exponential", choices=DISTRIBUTIONS
    )
    mean: float = option(0.0, "the mean (fixed: the value)", ge=0)
    spread: float = option(
        0.0, "uniform: half width; normal: std; lognormal: sigma of the log", ge=0
    )
    min: float = option(0.0, "draws below are raised to this", ge=0)
    max: float | None = option(None, "draws above are lowered to this (null = no bound)", ge=0)

    def check(self, key: str) -> None:
        if self.max is not None and self.max < self.min:
            raise ConfigError(f"{key}.max: must be >= {key}.min ({self.min:g}), got {self.max:g}")
        if self.kind == "lognormal" and self.mean <= 0:
            raise ConfigError(f"{key}.mean: must be > 0 for a lognormal, got {self.mean:g}")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` floats, clipped to [min, max]."""
        mean, spread = self.mean, self.spread
        if self.kind == "uniform":
            values = rng.uniform(mean - spread, mean + spread, n)
        elif self.kind == "normal":
            values = rng.normal(mean, spread, n)
        elif self.kind == "lognormal":
            values = rng.lognormal(math.log(mean) - spread * spread / 2, spread, n)
        elif self.kind == "exponential":
            values = rng.exponential(mean, n) if mean > 0 else np.zeros(n)
        else:
            values = np.full(n, mean, dtype=float)
        return np.clip(values, self.min, self.max if self.max is not None else np.inf)

    def draw_ints(self, rng: np.random.Generator, n: int) -> list[int]:
        """`n` whole numbers (token counts), rounded after clipping."""
        return [int(v) for v in np.rint(self.draw(rng, n))]


def fixed(value: float) -> Distribution:
    return Distribution(kind="fixed", mean=value)
