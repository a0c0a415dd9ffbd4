"""Time series of a job as MLflow step metrics (step = whole seconds since the job started)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sweeper.tracking.mlflow_client import Point

if TYPE_CHECKING:
    import pandas as pd

    from sweeper.job.outcome import Outcome

# histogram parts and info gauges are not useful as step curves
_SKIP_SUFFIXES = ("_bucket", "_sum", "_count", "_created", "_info")


def client_points(series: pd.DataFrame) -> Iterator[Point]:
    """The client's per-second series (index = second, one column per quantity)."""
    for column in series.columns:
        for step, value in zip(series.index, series[column], strict=True):
            if isinstance(value, int | float) and math.isfinite(value):
                yield Point(f"ts.{column}", int(step), float(value))


def server_points(scraped: pd.DataFrame) -> Iterator[Point]:
    """Scraped /metrics (long: t_ns, name, labels, value): the last value per metric and second,
    summed over label sets (e.g. one per engine)."""
    frame = scraped[~scraped["name"].str.endswith(_SKIP_SUFFIXES)]
    if frame.empty:
        return
    t0 = int(scraped["t_ns"].min())
    frame = frame.assign(step=((frame["t_ns"] - t0) // 1_000_000_000).astype(int))
    per_sample = frame.groupby(["name", "step", "t_ns"], sort=True)["value"].sum()
    last = per_sample.groupby(level=["name", "step"]).last()
    for (name, step), value in zip(last.index, last, strict=True):
        if math.isfinite(value):
            short = str(name).removeprefix("vllm:").removesuffix("_total")
            yield Point(f"server.{short}", int(step), float(value))


def job_series(outcome: Outcome) -> list[Point]:
    points: list[Point] = []
    if outcome.series is not None and len(outcome.series):
        points.extend(client_points(outcome.series))
    if outcome.server_metrics is not None and len(outcome.server_metrics):
        points.extend(server_points(outcome.server_metrics))
    return points
