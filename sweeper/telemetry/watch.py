"""What a job samples beside the benchmark, each in its own thread (never in the client's event
loop): the server's `/metrics` and, on a GPU machine, the GPUs. One long frame (t_ns, name,
labels, value) comes back, written to `server_metrics.parquet` and logged as step metrics."""

from __future__ import annotations

import pandas as pd

from instruments import gpu
from sweeper.telemetry.scrape import MetricsScraper


class ServerWatch:
    def __init__(self, base_url: str, interval_s: float) -> None:
        self._parts: list[MetricsScraper | gpu.GpuMonitor] = []
        if interval_s > 0:
            self._parts.append(MetricsScraper(base_url.rstrip("/") + "/metrics", interval_s))
            if gpu.gpus():
                self._parts.append(gpu.GpuMonitor(interval_s))

    def start(self) -> None:
        for part in self._parts:
            part.start()

    def latest_scrape(self) -> tuple[int, str] | None:
        """The newest /metrics scrape (t_ns, text), for the client's early stop."""
        for part in self._parts:
            if isinstance(part, MetricsScraper):
                return part.latest()
        return None

    def stop(self) -> pd.DataFrame | None:
        frames = [f for f in (part.stop() for part in self._parts) if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else None
