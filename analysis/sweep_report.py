"""The report at the end of every multirun, as a Hydra callback that `conf/config.yaml` lists
after sweeper's own: Hydra ends callbacks in reverse order, so the report is written (and logged
to the sweep's MLflow run) before that run is closed. sweeper itself never imports analysis.

Best effort: a report that cannot be made is one warning line, never a failed sweep
(`python -m analysis report SWEEP` makes it again)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sweeper.tracking.sweep_run import RUN_ID_ENV

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.report.enabled:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        if not any(sweep_dir.glob("*/result.json")):
            return
        from analysis.report import report_at_sweep_end

        tracked = bool(config.tracking.enabled)
        run_id = os.environ.get(RUN_ID_ENV) if tracked else None
        report_at_sweep_end(
            sweep_dir,
            tracking_uri=str(config.tracking.uri) if run_id else None,
            experiment=str(config.tracking.experiment),
            sweep_run_id=run_id,
        )
