"""`compare A B`: matched grid points of two sweeps side by side, with B/A ratios; with
repeats, mean ± confidence interval per side and Welch's t-test for the difference."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisError
from analysis.grid import format_value, hashable, short_name, swept_params
from analysis.loader import Sweep

DEFAULT_METRICS: tuple[str, ...] = (
    "output_throughput",
    "request_throughput",
    "request_goodput",
    "median_ttft_ms",
    "p99_ttft_ms",
    "median_tpot_ms",
    "p99_tpot_ms",
    "median_itl_ms",
    "median_e2el_ms",
)


@dataclass
class Comparison:
    """One row per (matched grid point, metric); `only_a` / `only_b` list unmatched points."""

    a_name: str
    b_name: str
    keys: list[str]
    table: pd.DataFrame
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    confidence: float = 0.95


@dataclass(frozen=True)
class SideStats:
    n: int
    mean: float
    ci: float  # half-width of the confidence interval (nan for n < 2)


def side_stats(values: np.ndarray, confidence: float) -> SideStats:
    values = values[np.isfinite(values)]
    n = int(values.size)
    if n == 0:
        return SideStats(0, math.nan, math.nan)
    mean = float(values.mean())
    if n < 2:
        return SideStats(n, mean, math.nan)
    sem = float(values.std(ddof=1)) / math.sqrt(n)
    return SideStats(n, mean, float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem)


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return math.nan
    if np.var(a) == 0 and np.var(b) == 0:
        return 0.0 if a.mean() != b.mean() else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # near-identical samples: still valid
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def match_keys(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Params swept in either sweep (repeat / seed excluded): the grid coordinates."""
    keys = list(dict.fromkeys(swept_params(a) + swept_params(b)))
    for key in keys:
        for name, frame in (("A", a), ("B", b)):
            if key not in frame.columns:
                raise AnalysisError(f"compare: param {short_name(key)} missing from sweep {name}")
    return keys


def point_label(keys: list[str], point: tuple[object, ...]) -> str:
    if not keys:
        return "all"
    return ", ".join(f"{short_name(k)}={format_value(v)}" for k, v in zip(keys, point, strict=True))


def grouped(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[object, ...], pd.DataFrame]:
    if not keys:
        return {(): frame}
    points = [tuple(hashable(v) for v in row) for row in frame[keys].itertuples(index=False)]
    index = pd.Series(points, index=frame.index)
    return {p: frame[index == p] for p in dict.fromkeys(points)}


def compare_sweeps(
    a: Sweep,
    b: Sweep,
    metrics: list[str] | None = None,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> Comparison:
    """Match the finished runs of `a` and `b` on their grid params and compare `metrics`."""
    ra = a.runs[a.runs["status"] == "FINISHED"]
    rb = b.runs[b.runs["status"] == "FINISHED"]
    names = list(metrics or DEFAULT_METRICS)
    columns = [n if n.startswith("metrics.") else f"metrics.{n}" for n in names]
    present = [c for c in columns if c in ra.columns or c in rb.columns]
    if metrics:  # asked for by name: each must exist; of the defaults, those there (goodput
        # needs an SLO)
        for column in columns:
            if column not in present:
                raise AnalysisError(f"compare: metric {short_name(column)} is in neither sweep")
    columns = present
    keys = match_keys(ra, rb)
    ga, gb = grouped(ra, keys), grouped(rb, keys)
    rows: list[dict[str, object]] = []
    for point in (p for p in ga if p in gb):
        for column in columns:
            va = pick(ga[point], column)
            vb = pick(gb[point], column)
            sa, sb = side_stats(va, confidence), side_stats(vb, confidence)
            p_value = welch_p(va, vb)
            row: dict[str, object] = {short_name(k): v for k, v in zip(keys, point, strict=True)}
            row.update(
                {
                    "metric": short_name(column),
                    "n_a": sa.n,
                    "mean_a": sa.mean,
                    "ci_a": sa.ci,
                    "n_b": sb.n,
                    "mean_b": sb.mean,
                    "ci_b": sb.ci,
                    "ratio": sb.mean / sa.mean if sa.mean not in (0.0,) else math.nan,
                    "p_value": p_value,
                    "significant": bool(p_value < alpha) if not math.isnan(p_value) else None,
                }
            )
            rows.append(row)
    if not rows:
        raise AnalysisError(
            f"compare: sweeps {a.name} and {b.name} share no grid point "
            f"(keys: {', '.join(short_name(k) for k in keys) or 'none'})"
        )
    only_a = [point_label(keys, p) for p in ga if p not in gb]
    only_b = [point_label(keys, p) for p in gb if p not in ga]
    return Comparison(
        a.name,
        b.name,
        [short_name(k) for k in keys],
        pd.DataFrame(rows),
        only_a,
        only_b,
        confidence,
    )


def pick(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(0)
    return frame[column].to_numpy(dtype=float)


def significant_digits(x: float, digits: int) -> str:
    """`digits` significant digits, without switching to e-notation for big numbers."""
    return f"{x:.0f}" if abs(x) >= 10**digits else f"{x:.{digits}g}"


def format_side(mean: float, ci: float) -> str:
    if math.isnan(mean):
        return "—"
    text = significant_digits(mean, 4)
    return text if math.isnan(ci) else f"{text} ± {significant_digits(ci, 3)}"


def to_markdown(cmp: Comparison) -> str:
    """The comparison as a markdown table (ratio = B / A)."""
    repeats = bool((cmp.table["n_a"] > 1).any() or (cmp.table["n_b"] > 1).any())
    head = [*cmp.keys, "metric", f"A: {cmp.a_name}", f"B: {cmp.b_name}", "B/A"]
    if repeats:
        head += ["p (Welch)", "significant"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in cmp.table.iterrows():
        cells = [format_value(row[k]) for k in cmp.keys]
        cells += [
            str(row["metric"]),
            format_side(row["mean_a"], row["ci_a"]),
            format_side(row["mean_b"], row["ci_b"]),
            "—" if math.isnan(row["ratio"]) else f"{row['ratio']:.3f}",
        ]
        if repeats:
            p = row["p_value"]
            cells += [
                "—" if math.isnan(p) else f"{p:.3g}",
                {True: "yes", False: "no"}.get(row["significant"], "—"),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    if repeats:
        lines.append(f"\n± = {cmp.confidence:.0%} confidence interval (t distribution).")
    for side, points in (("A", cmp.only_a), ("B", cmp.only_b)):
        if points:
            lines.append(f"\nOnly in {side}: " + "; ".join(points))
    return "\n".join(lines)
