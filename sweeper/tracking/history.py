"""Read-only queries on earlier sweeps in MLflow: the last sweep of an experiment, its job runs,
and the FINISHED job run of a config hash (for `resume=true` and the plan's diff).

Never creates anything: a missing SQLite file or experiment means "no history". Writes to a
SQLite store from parallel jobs can find it locked; reads here retry like the tracker does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sweeper.tracking.mlflow_client import TrackingError, is_locked, retry_locked, shared_client

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

    from sweeper.schema import TrackingConfig

T = TypeVar("T")


@dataclass
class JobRun:
    """A job run of an earlier sweep, reduced to what plans and resumes need."""

    run_id: str
    status: str
    config_hash: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    job_dir: str = ""
    parent_id: str = ""

    @classmethod
    def of(cls, run: Run) -> JobRun:
        tags = run.data.tags
        return cls(
            run_id=run.info.run_id,
            status=run.info.status,
            config_hash=tags.get("sweeper.config_hash", ""),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            job_dir=tags.get("sweeper.job_dir", ""),
            parent_id=tags.get("mlflow.parentRunId", ""),
        )


@dataclass
class SweepRecord:
    run_id: str
    name: str
    jobs: list[JobRun]


class History:
    """MLflow history of one experiment (see module doc)."""

    def __init__(self, tracking: TrackingConfig) -> None:
        self.tracking = tracking
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._looked_up = False

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return retry_locked(fn)
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            kind = "locked" if is_locked(e) else "failed"
            raise TrackingError(
                f"MLflow ({self.tracking.uri}) {kind} on {what}: {first[:300]}"
            ) from e

    def store_exists(self) -> bool:
        uri = self.tracking.uri
        if uri.startswith("sqlite:///"):
            return Path(uri.removeprefix("sqlite:///")).exists()
        if uri.startswith("file:") or "://" not in uri:
            return Path(uri.removeprefix("file://")).exists()
        return True

    def experiment_id(self) -> str | None:
        if self._looked_up:
            return self._experiment_id
        self._looked_up = True
        if not (self.tracking.enabled and self.store_exists()):
            return None
        self._client = shared_client(self.tracking.uri, self.tracking.timeout_s)
        client = self._client
        exp = self._call(
            "find experiment", lambda: client.get_experiment_by_name(self.tracking.experiment)
        )
        self._experiment_id = exp.experiment_id if exp is not None else None
        return self._experiment_id

    def _search(self, query: str, max_results: int = 5000, newest_first: bool = False) -> list[Run]:
        exp = self.experiment_id()
        if exp is None or self._client is None:
            return []
        client = self._client
        order = ["attributes.start_time DESC"] if newest_first else None
        runs: list[Run] = []
        token: str | None = None
        while True:
            page = self._call(
                "search runs",
                functools.partial(
                    client.search_runs,
                    [exp],
                    query,
                    max_results=min(max_results, 1000),
                    order_by=order,
                    page_token=token,
                ),
            )
            runs.extend(page)
            token = page.token
            if not token or len(runs) >= max_results:
                return runs[:max_results]

    def finished_run(self, config_hash: str) -> JobRun | None:
        """The newest FINISHED job run with this config hash, in any sweep of the experiment."""
        found = self._search(
            f"tags.`sweeper.kind` = 'job' and tags.`sweeper.config_hash` = '{config_hash}'"
            " and attributes.status = 'FINISHED'",
            max_results=1,
            newest_first=True,
        )
        return JobRun.of(found[0]) if found else None

    def saturated_jobs(self, parent_id: str) -> list[JobRun]:
        """The job runs of sweep `parent_id` tagged saturated (skipping past the knee on hosts
        that do not share the sweep dir)."""
        return [
            JobRun.of(r)
            for r in self._search(
                f"tags.`sweeper.kind` = 'job' and tags.`mlflow.parentRunId` = '{parent_id}'"
                " and tags.`sweeper.saturated` = 'true'"
            )
        ]

    def last_sweep(self, exclude_run_id: str | None = None) -> SweepRecord | None:
        """The newest sweep (parent run) of the experiment and its job runs."""
        for parent in self._search("tags.`sweeper.kind` = 'sweep'", 5, newest_first=True):
            if parent.info.run_id == exclude_run_id:
                continue
            pid = parent.info.run_id
            jobs = self._search(
                f"tags.`sweeper.kind` = 'job' and tags.`mlflow.parentRunId` = '{pid}'"
            )
            return SweepRecord(pid, parent.info.run_name or "", [JobRun.of(r) for r in jobs])
        return None

    def durations(self, hashes: set[str]) -> dict[str, float]:
        """Measured `duration` (s) of the newest FINISHED job run of each config hash."""
        out: dict[str, float] = {}
        if not hashes:
            return out
        runs = self._search(
            "tags.`sweeper.kind` = 'job' and attributes.status = 'FINISHED'", newest_first=True
        )
        for run in runs:
            h = run.data.tags.get("sweeper.config_hash", "")
            if h in hashes and h not in out and "duration" in run.data.metrics:
                out[h] = float(run.data.metrics["duration"])
        return out

    def result(self, run: JobRun) -> dict[str, Any]:
        """The carried summary of a finished run: its result.json (job dir, else artifact),
        else its metrics."""
        if run.job_dir:
            path = Path(run.job_dir) / "result.json"
            if path.is_file():
                try:
                    return json.loads(path.read_text())
                except (OSError, ValueError):
                    pass
        if self._client is not None:
            client = self._client
            try:
                local = self._call(
                    "download result.json",
                    lambda: client.download_artifacts(run.run_id, "result.json"),
                )
                return json.loads(Path(local).read_text())
            except (TrackingError, OSError, ValueError):
                pass
        return {k: v for k, v in run.metrics.items() if "." not in k}
