"""What a job produced, finished or not: status, error, the server lease, the summary, the
per-request records and the time series. Written to the job dir and recorded in MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launchers.pool import Lease

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Outcome:
    """Everything a job produced, whether it finished or not."""

    status: str = "FAILED"
    error: str = ""
    lease: Lease | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    records: pd.DataFrame | None = None
    series: pd.DataFrame | None = None
    server_metrics: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"
