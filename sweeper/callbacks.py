"""Hydra callback: open the sweep's MLflow parent run before the first job, close it after the
last (the CLI closes it too, since Hydra skips `on_multirun_end` when a job raises)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sweeper.runtime import process_runtime
from sweeper.schema import TrackingConfig


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking: TrackingConfig = OmegaConf.to_object(config.tracking)  # type: ignore[assignment]
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        # as typed: resolving would expand `${oc.env:SECRET}` in an override into the secret
        task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        overrides = [str(o) for o in task] if isinstance(task, list) else []
        process_runtime().sweep.open(sweep_dir, tracking, overrides)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        process_runtime().close()
