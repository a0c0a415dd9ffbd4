"""The sweep around the jobs: its MLflow parent run, its failure count, its end.

Opened by the Hydra callback at multirun start (in the launching process) and, because Hydra skips
`on_multirun_end` when a job raises and swallows callback errors, also lazily by the first job and
closed by the CLI whatever happens. One per process, in the entry point's `Runtime`. The report at
the end of a sweep is analysis's Hydra callback (`analysis.sweep_report`), which runs first. Jobs
in other processes (joblib, submitit) find the parent run through `SWEEPER_SWEEP_RUN_ID`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from instruments.redact import redact_override
from sweeper.schema import TrackingConfig
from sweeper.tracking import sidecar
from sweeper.tracking.mlflow_client import TrackingError, experiment_url

log = logging.getLogger(__name__)

RUN_ID_ENV = "SWEEPER_SWEEP_RUN_ID"
# a sweep tagged as a baseline (tracking.baseline_tag; analysis compare --baseline NAME)
BASELINE_TAG = "sweeper.baseline"


def sweep_run_name(sweep_dir: Path) -> str:
    """`sweep-<date>_<time>` from Hydra's `outputs/sweeps/<date>/<time>`."""
    return f"sweep-{sweep_dir.parent.name}_{sweep_dir.name}"


@dataclass
class SweepRun:
    sweep_dir: Path | None = None
    tracking: TrackingConfig | None = None
    run_id: str | None = None
    # this process created the parent run, so it closes it
    owned: bool = False
    jobs_done: int = 0
    jobs_failed: int = 0
    # jobs not run: past the knee of a saturated lower point (sweeper.job.skip)
    jobs_skipped: int = 0
    closed: bool = False
    # the tracking helper has been asked for the parent run and has not answered yet
    opening: bool = False
    warnings: list[str] = field(default_factory=list)

    def open(self, sweep_dir: Path, tracking: TrackingConfig, overrides: list[str],
             wait: bool = True) -> str | None:  # fmt: skip
        """The parent run's id (created once per sweep); None without tracking. With the
        tracking helper and `wait=False` it is asked for and this returns at once (None until
        it is made: `parent_id()` waits for it); jobs in other processes need it at once."""
        self.sweep_dir = sweep_dir
        self.tracking = tracking
        if self.run_id or self.opening or not tracking.enabled:
            return self.parent_id() if wait else self.run_id
        inherited = os.environ.get(RUN_ID_ENV)
        if inherited:
            self.run_id = inherited
            return inherited
        tags = {
            "sweeper.kind": "sweep",
            "sweeper.sweep_dir": str(sweep_dir.resolve()),
            "sweeper.overrides": " ".join(redact_override(o) for o in overrides),
        }
        if tracking.baseline_tag:
            tags[BASELINE_TAG] = tracking.baseline_tag
        name = sweep_run_name(sweep_dir)
        self.opening = True  # (without a helper it is done before `submit` returns)
        sidecar.asker().submit("start_run", sidecar.absolute(tracking), name, tags, None,
                               done=self._opened, failed=self._not_opened)  # fmt: skip
        return self.parent_id() if wait else self.run_id

    def _opened(self, run_id: str) -> None:
        self.opening = False
        self.run_id, self.owned = run_id, True
        os.environ[RUN_ID_ENV] = run_id
        if self.tracking is not None:  # where to see it (a store that failed is not asked again)
            sidecar.asker().submit("experiment_id", sidecar.absolute(self.tracking),
                                   done=self._say_where)  # fmt: skip

    def _not_opened(self, why: str) -> None:
        self.opening = False
        self.warn(f"sweep run not tracked: {why}")

    def _say_where(self, experiment_id: str) -> None:
        if self.run_id and self.tracking:
            log.info("MLflow runs: %s", experiment_url(self.tracking.uri, experiment_id))

    def parent_id(self) -> str | None:
        """The parent run's id, once the tracking helper has made it."""
        if self.opening:
            sidecar.quiet()
        return self.run_id

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def job_finished(self, ok: bool) -> None:
        self.jobs_done += 1
        self.jobs_failed += 0 if ok else 1

    def job_skipped(self) -> None:
        self.jobs_done += 1
        self.jobs_skipped += 1

    def count_jobs_elsewhere(self) -> None:
        """Jobs that ran in other processes (joblib, submitit) count in this one's totals: read
        back from their job dirs' result.json (`sweeper.status`)."""
        if self.sweep_dir is None or not self.sweep_dir.is_dir():
            return
        done = failed = skipped = 0
        for path in self.sweep_dir.glob("*/result.json"):
            try:
                status = json.loads(path.read_text()).get("sweeper", {}).get("status")
            except (OSError, ValueError, AttributeError):
                continue
            done += 1
            skipped += status == "SKIPPED"
            failed += status not in ("FINISHED", "SKIPPED")
        if done > self.jobs_done:
            self.jobs_done, self.jobs_failed, self.jobs_skipped = done, failed, skipped

    def close(self, status: str | None = None) -> None:
        """End the parent run: FINISHED, FAILED when a job failed, or the given status."""
        if self.closed:
            return
        self.closed = True
        self.count_jobs_elsewhere()
        if not (self.owned and self.run_id and self.tracking):
            return
        status = status or ("FAILED" if self.jobs_failed else "FINISHED")
        tracker = sidecar.tracker_for(self.tracking)
        try:
            counts = {
                "sweeper.jobs_done": self.jobs_done,
                "sweeper.jobs_failed": self.jobs_failed,
                "sweeper.jobs_skipped": self.jobs_skipped,
            }
            best_tags, best_metrics = self.optuna_result()
            tracker.set_tags(self.run_id, {**{k: str(v) for k, v in counts.items()}, **best_tags})
            if best_metrics:
                tracker.log_job(self.run_id, {}, best_metrics)
            tracker.end_run(self.run_id, status)
        except TrackingError as e:
            log.warning("sweep run not closed: %s", e)
        if os.environ.get(RUN_ID_ENV) == self.run_id:
            del os.environ[RUN_ID_ENV]

    def optuna_result(self) -> tuple[dict[str, str], dict[str, float]]:
        """hydra/sweeper=optuna's answer (optimization_results.yaml) as parent tags + metric."""
        path = self.sweep_dir / "optimization_results.yaml" if self.sweep_dir else None
        if path is None or not path.is_file():
            return {}, {}
        data = yaml.safe_load(path.read_text()) or {}
        tags = {f"optuna.best.{k}": str(v) for k, v in (data.get("best_params") or {}).items()}
        value = data.get("best_value")
        metrics = {"optuna.best_value": float(value)} if isinstance(value, int | float) else {}
        return tags, metrics
