"""The `slo_search` Hydra sweeper: for each server config (the product of the swept keys), the
highest `request_rate` (or `concurrency`) that meets every SLO, by bisection within a trial
budget (`sweeper.slo_search.bisect`).

  python -m sweeper -m hydra/sweeper=slo_search server.max_num_seqs=64,128 concurrency=null \
      'hydra.sweeper.slo={p99_ttft_ms:500,p99_tpot_ms:50}' hydra.sweeper.high=64

Every trial is a normal job launched by the configured launcher (an MLflow child run of the
sweep); its return value, the summary dict, decides pass or fail. The answer per server config
is printed, written to `<sweep dir>/slo_search.json`, and logged on the sweep's parent run as the
metric `slo_capacity.<param>` (`slo_capacity.<param>.<i>` with several server configs, whose
overrides are the tags `slo_search.<i>.overrides`).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from instruments.errors import ConfigError
from instruments.redact import redact_override
from sweeper.slo_search import (
    SearchResult,
    Trial,
    bisect,
    check,
    validate_range,
    validate_slo,
)

log = logging.getLogger(__name__)


def _varying_keys(groups: list[list[str]]) -> set[str]:
    values: dict[str, set[str]] = {}
    for group in groups:
        for o in group:
            key, _, value = o.partition("=")
            values.setdefault(key, set()).add(value)
    return {k for k, v in values.items() if len(v) > 1}


class SloSearchSweeper(Sweeper):
    def __init__(
        self,
        param: str,
        low: float,
        high: float,
        max_trials: int,
        tolerance: float,
        slo: dict[str, float],
        params: dict[str, Any] | None = None,
    ) -> None:
        self.param, self.low, self.high = param, float(low), float(high)
        self.max_trials, self.tolerance = int(max_trials), float(tolerance)
        self.slo = {str(k): float(v) for k, v in (slo or {}).items()}
        self.params = dict(params or {})
        self.job_idx = 0
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        try:
            groups = self._server_groups(arguments)
        except ConfigError as e:
            print(f"[sweeper] {e}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        results = []
        varying = _varying_keys(groups)
        for group in groups:
            label = " ".join(o for o in group if o.split("=", 1)[0] in varying) or "server"
            result = bisect(
                functools.partial(self._trial, group, label=label),
                self.low,
                self.high,
                self.max_trials,
                self.tolerance,
                integer=self.param == "concurrency",
            )
            results.append((group, result))
            print(self._line(label, result), flush=True)
        self._report(sweep_dir, results)
        return [r for _, r in results]

    def _server_groups(self, arguments: list[str]) -> list[list[str]]:
        """The server configs to search: the product of the swept keys, in the BasicSweeper's
        order; the searched key itself may not be swept."""
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        assert self.config is not None
        validate_range(self.param, self.low, self.high, self.max_trials)
        percentiles = list(self.config.get("percentiles") or [])
        validate_slo(self.slo, percentiles)
        assert self.hydra_context is not None  # set by setup
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        lines = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        overrides = parser.parse_overrides(lines)
        for o in overrides:
            if o.get_key_element() in (self.param, f"load.{self.param}"):
                raise ConfigError(
                    f"{self.param}: searched by hydra/sweeper=slo_search; set "
                    "hydra.sweeper.low/high instead of a value"
                )
        groups = BasicSweeper.split_arguments(overrides, None)[0]
        self.validate_batch_is_legal([[*g, f"{self.param}={self._fmt(self.low)}"] for g in groups])
        return groups

    def _fmt(self, x: float) -> str:
        return str(int(x)) if self.param == "concurrency" else f"{x:.6g}"

    def _trial(self, group: Sequence[str], load: float, label: str) -> Trial:
        overrides = [*group, f"{self.param}={self._fmt(load)}"]
        assert self.launcher is not None  # set by setup
        (ret,) = self.launcher.launch([overrides], initial_job_idx=self.job_idx)
        self.job_idx += 1
        if ret.status != JobStatus.COMPLETED:
            err = ret._return_value  # the exception the job raised
            return Trial(load, False, (f"job raised {type(err).__name__}: {err}"[:200],))
        summary = ret.return_value
        passed, reasons = check(summary, self.slo)
        verdict = "meets SLOs" if passed else "misses: " + ", ".join(reasons)
        print(f"[slo_search] {label} {overrides[-1]} -> {verdict}", flush=True)
        return Trial(load, passed, tuple(reasons), summary or {})

    def _line(self, label: str, r: SearchResult) -> str:
        n = len(r.trials)
        if r.capacity is None:
            lowest = self._fmt(r.high)
            return f"[slo_search] {label}: no {self.param} down to {lowest} meets the SLOs ({n=})"
        bound = f" (upper bound {self._fmt(self.high)} not exceeded)" if r.at_upper_bound else ""
        return (
            f"[slo_search] {label}: capacity {self.param}={self._fmt(r.capacity)} "
            f"(in [{self._fmt(r.low)}, {self._fmt(r.high)}), {n} trials){bound}"
        )

    def _report(self, sweep_dir: Path, results: list[tuple[list[str], SearchResult]]) -> None:
        report = {
            "param": self.param,
            "slo": self.slo,
            "servers": [
                {
                    "overrides": g,
                    "capacity": r.capacity,
                    "bracket": [r.low, r.high],
                    "at_upper_bound": r.at_upper_bound,
                    "trials": [
                        {k: v for k, v in asdict(t).items() if k != "summary"} for t in r.trials
                    ],
                }
                for g, r in results
            ],
        }
        path = sweep_dir / "slo_search.json"
        path.write_text(json.dumps(report, indent=2))
        self._track(results, path)

    def _track(self, results: list[tuple[list[str], SearchResult]], path: Path) -> None:
        from sweeper.runtime import process_runtime
        from sweeper.schema import TrackingConfig
        from sweeper.tracking.mlflow_client import Tracker, TrackingError

        assert self.config is not None
        run_id = process_runtime().sweep.run_id
        tracking: TrackingConfig = OmegaConf.to_object(self.config.tracking)  # type: ignore[assignment]
        if not run_id or not tracking.enabled:
            return
        key = f"slo_capacity.{self.param}"
        metrics: dict[str, float] = {}
        tags: dict[str, str] = {"slo_search.slo": json.dumps(self.slo)}
        for i, (group, r) in enumerate(results):
            name = key if len(results) == 1 else f"{key}.{i}"
            if r.capacity is not None:
                metrics[name] = r.capacity
            metrics[f"slo_search.trials{'' if len(results) == 1 else f'.{i}'}"] = len(r.trials)
            tags[f"slo_search.{i}.overrides"] = " ".join(redact_override(o) for o in group)
        tracker = Tracker(tracking)
        try:
            tracker.log_job(run_id, {}, metrics)
            tracker.set_tags(run_id, tags)
            tracker.log_artifacts_file(run_id, path) if hasattr(
                tracker, "log_artifacts_file"
            ) else None
        except TrackingError as e:
            process_runtime().sweep.warn(f"slo_search: answer not tracked (it is in {path}): {e}")
