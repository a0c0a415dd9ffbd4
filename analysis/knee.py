"""The knee of each server config: the lowest load at which a job was saturated
(`metrics.sweeper.saturated`, from result.json's `saturated` or the run's 0/1 metric), marked on
the throughput figure and listed in the report's header."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.grid import GridShape, facet_groups, format_value, label_for, x_values
from analysis.spec import Series

SATURATED = "metrics.sweeper.saturated"
KNEE_NAME = "knee (first saturated)"
KNEE_COLOR = "#d62728"


@dataclass(frozen=True)
class Knee:
    facet: str
    label: str
    x: float
    job_num: int


def knees(frame: pd.DataFrame, shape: GridShape) -> list[Knee]:
    """Per facet and curve label, the saturated job of the lowest load."""
    if SATURATED not in frame.columns:
        return []
    out = []
    for facet_label, sub in facet_groups(frame, shape.facet):
        xs = x_values(sub, shape.x)[0]
        labels = label_for(sub, shape.series).to_numpy()
        hot = sub[SATURATED].to_numpy(dtype=float) > 0.5
        for label in dict.fromkeys(labels):
            mine = np.flatnonzero(hot & (labels == label))
            if mine.size:
                first = mine[np.argmin(xs[mine])]
                out.append(
                    Knee(facet_label, str(label), float(xs[first]), int(sub["job_num"].iloc[first]))
                )
    return out


def knee_series(sub: pd.DataFrame, shape: GridShape, y: str, facet_label: str) -> list[Series]:
    """Markers at each curve's knee on the curve of `y` (mean over repeats at that x)."""
    found = [k for k in knees(sub, shape) if k.facet == facet_label or shape.facet is None]
    if not found or y not in sub.columns:
        return []
    xs = x_values(sub, shape.x)[0]
    labels = label_for(sub, shape.series).to_numpy()
    values = sub[y].to_numpy(dtype=float)
    points = [(k, values[(xs == k.x) & (labels == k.label)]) for k in found]
    points = [(k, float(np.nanmean(v))) for k, v in points if np.isfinite(v).any()]
    if not points:
        return []
    return [
        Series(
            KNEE_NAME,
            [k.x for k, _ in points],
            [v for _, v in points],
            mode="markers",
            hover=[f"{k.label}: first saturated, job {k.job_num}" for k, _ in points],
            color=KNEE_COLOR,
        )
    ]


def knee_lines(frame: pd.DataFrame, shape: GridShape) -> list[str]:
    """`knee: <curve> at <axis>=<x> (job N)` per curve, for the report's header."""
    return [
        f"{(k.facet + ' / ') if k.facet else ''}{k.label}: first saturated at "
        f"{shape.x_label}={format_value(k.x)} (job {k.job_num})"
        for k in knees(frame, shape)
    ]
