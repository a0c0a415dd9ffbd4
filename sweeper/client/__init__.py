"""The benchmark client: load schedules, request backends, the SSE reader, per-request records."""

from __future__ import annotations

from sweeper.client.config import LoadConfig
from sweeper.client.frame import records_frame
from sweeper.client.runner import BenchmarkRun, run_benchmark
from sweeper.client.schedule import check_load

__all__ = ["BenchmarkRun", "LoadConfig", "check_load", "records_frame", "run_benchmark"]
