"""The shape of a sweep: which params were swept, which one is the load axis, how rows group
into curves and facets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError

# params that identify a repetition (any `*.seed`, `repeat`) or bookkeeping: never grid dims
NON_GRID_NAMES = frozenset({"seed", "run_seed", "repeat", "repeats"})
NON_GRID_PREFIXES: tuple[str, ...] = ("params.tracking.", "params.hydra.")
LOAD_AXES: tuple[str, ...] = (
    "params.concurrency",
    "params.request_rate",
    "params.load.concurrency",
    "params.load.request_rate",
    "params.load.max_concurrency",
)


@dataclass(frozen=True)
class GridShape:
    """How a runs frame maps onto plots."""

    x: str  # load-axis column
    series: tuple[str, ...]  # columns whose combination labels one curve
    facet: str | None  # column splitting panels, or None

    @property
    def x_label(self) -> str:
        return short_name(self.x)


def short_name(column: str) -> str:
    return column.removeprefix("params.").removeprefix("metrics.")


def hashable(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value if not isinstance(value, list) else tuple(value)


def column_values(frame: pd.DataFrame, column: str) -> tuple[object, ...]:
    return tuple(hashable(v) for v in frame[column].tolist())


def is_bookkeeping(column: str) -> bool:
    last = column.rsplit(".", 1)[-1]
    return last in NON_GRID_NAMES or column.startswith(NON_GRID_PREFIXES)


def swept_params(frame: pd.DataFrame) -> list[str]:
    """Param columns that vary across runs; aliases (e.g. load.concurrency = ${concurrency})
    are folded onto the shortest name."""
    varying: list[str] = []
    for column in frame.columns:
        if not column.startswith("params.") or is_bookkeeping(column):
            continue
        if len(set(column_values(frame, column))) > 1:
            varying.append(column)
    varying.sort(key=lambda c: (c.count("."), c))
    kept: list[str] = []
    seen: set[tuple[object, ...]] = set()
    for column in varying:
        signature = column_values(frame, column)
        if signature in seen:
            continue
        seen.add(signature)
        kept.append(column)
    return kept


def choose_load_axis(frame: pd.DataFrame, swept: list[str]) -> str:
    for column in LOAD_AXES:
        if column in swept:
            return column
    for column in swept:
        if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].dtype != bool:
            return column
    for column in LOAD_AXES:
        if column in frame.columns:
            return column
    raise AnalysisError("runs have no load param (concurrency or request_rate) to plot against")


def grid_shape(frame: pd.DataFrame, x: str | None = None, facet: str | None = None) -> GridShape:
    """Pick the load axis, the curve keys and the facet key (user choices win)."""
    swept = swept_params(frame)
    x_col = as_param(frame, x) if x else choose_load_axis(frame, swept)
    if pd.to_numeric(frame[x_col], errors="coerce").isna().all():
        values = ", ".join(sorted({format_value(v) for v in frame[x_col]})[:5])
        raise AnalysisError(
            f"load axis {short_name(x_col)} is not numeric ({values}); use it as --facet"
        )
    facet_col = as_param(frame, facet) if facet else None
    series = tuple(c for c in swept if c not in {x_col, facet_col})
    return GridShape(x=x_col, series=series, facet=facet_col)


def as_param(frame: pd.DataFrame, name: str) -> str:
    column = name if name.startswith("params.") else f"params.{name}"
    if column not in frame.columns:
        raise AnalysisError(f"param {name!r} is not in the runs (known: {known_params(frame)})")
    return column


def known_params(frame: pd.DataFrame) -> str:
    names = [short_name(c) for c in frame.columns if c.startswith("params.")]
    return ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")


def label_for(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """One label per row from `columns`: "server.profile=fast, model.name=m" (or "all")."""
    if not columns:
        return pd.Series("all", index=frame.index, dtype=object)
    parts = [frame[c].map(lambda v, c=c: f"{short_name(c)}={format_value(v)}") for c in columns]
    label = parts[0]
    for part in parts[1:]:
        label = label + ", " + part
    return label.astype(object)


def format_value(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "None"
        if value.is_integer():
            return str(int(value))
        return f"{value:g}"
    return str(value)


def x_values(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, str]:
    """Numeric x positions; `inf` is drawn at twice the largest finite value (noted)."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    note = ""
    if np.isinf(values).any():
        finite = values[np.isfinite(values)]
        stand_in = float(finite.max() * 2) if finite.size else 1.0
        values = np.where(np.isinf(values), stand_in, values)
        note = f"{short_name(column)}=inf drawn at {stand_in:g}"
    return values, note


def facet_groups(frame: pd.DataFrame, facet: str | None) -> list[tuple[str, pd.DataFrame]]:
    if facet is None:
        return [("", frame)]
    labels = label_for(frame, (facet,))
    return [(str(label), frame[labels == label]) for label in dict.fromkeys(labels)]
