"""Robust trends of short noisy series: Theil–Sen slope, Mann–Kendall significance, window
medians. Pure numpy on a few dozen points (saturation detection calls it once a second)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trend:
    """A series' trend: `slope` (y per x, Theil–Sen), `z` (Mann–Kendall, > 0 rising), `start`
    (the fitted level at the first x), `rise` (slope × the x span), `n` points."""

    n: int
    slope: float
    z: float
    start: float
    rise: float

    def growing(self, z_min: float, rise_min: float) -> bool:
        """Significantly rising (z >= z_min) by at least `rise_min` over the series."""
        return self.n >= 3 and self.z >= z_min and self.rise >= rise_min


FLAT = Trend(0, 0.0, 0.0, 0.0, 0.0)


def mann_kendall_z(y: np.ndarray) -> float:
    """Mann–Kendall trend statistic as a standard normal z (ties corrected, continuity
    corrected); 0 for fewer than 3 points or a constant series."""
    y = np.asarray(y, dtype=float)
    n = y.size
    if n < 3:
        return 0.0
    signs = np.sign(y[None, :] - y[:, None])
    s = float(np.triu(signs, 1).sum())
    _, ties = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18
    if var <= 0 or s == 0:
        return 0.0
    return (s - math.copysign(1.0, s)) / math.sqrt(var)


def theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """Median of the pairwise slopes (pairs with equal x left out); 0 when none."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(x.size, 1)
    dx = x[j] - x[i]
    keep = dx != 0
    if not keep.any():
        return 0.0
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


def trend(x: np.ndarray, y: np.ndarray) -> Trend:
    """The trend of y over x (finite points only)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return FLAT
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    slope = theil_sen(x, y)
    start = float(np.median(y - slope * (x - x[0])))
    return Trend(int(x.size), slope, mann_kendall_z(y), start, slope * float(x[-1] - x[0]))


def window_medians(
    x: np.ndarray, y: np.ndarray, windows: int, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cut [lo, hi] into `windows` equal windows of x; each non-empty one gives (its centre,
    the median of its y). Medians make one straggler per window harmless."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if windows < 1 or not hi > lo or x.size == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.linspace(lo, hi, windows + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, windows - 1)
    inside = (x >= lo) & (x <= hi)
    centres, medians = [], []
    for w in range(windows):
        values = y[inside & (which == w)]
        if values.size:
            centres.append((edges[w] + edges[w + 1]) / 2)
            medians.append(float(np.median(values)))
    return np.asarray(centres), np.asarray(medians)
