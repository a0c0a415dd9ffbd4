"""Hydra callback: open the sweep's MLflow parent run before the first job, close it after the
last (the CLI closes it too, since Hydra skips `on_multirun_end` when a job raises); learn each
job's secrets and redact the files Hydra wrote before the job runs (instruments.redact)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from instruments import redact
from sweeper.job.context import learn_secrets, typed_overrides
from sweeper.runtime import process_runtime
from sweeper.schema import TrackingConfig
from sweeper.tracking import sidecar

log = logging.getLogger(__name__)


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking: TrackingConfig = OmegaConf.to_object(config.tracking)  # type: ignore[assignment]
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        overrides = typed_overrides(config)
        # Hydra's launcher logs each job's overrides before the job starts
        redact.remember(redact.override_secrets(overrides))
        redact.install_log_redaction()
        if not tracking.enabled:
            sidecar.discard()
        # jobs in this process wait for the parent run only when they need it; a launcher's
        # processes (joblib, SLURM, Ray) find it in the environment they start with
        in_process = str(config.hydra.launcher.get("_target_", "")).endswith(".BasicLauncher")
        process_runtime().sweep.open(sweep_dir, tracking, overrides, wait=not in_process)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        learn_secrets(config)
        redact.install_log_redaction()
        output_dir = Path(str(config.hydra.runtime.output_dir))
        subdir = config.hydra.output_subdir
        written = [] if subdir is None else sorted((output_dir / str(subdir)).glob("*.yaml"))
        sweep_file = Path(str(config.hydra.sweep.dir)) / "multirun.yaml"
        for path in [*written, sweep_file]:
            redact_yaml(path)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        process_runtime().close()


# libyaml's loader where PyYAML has it: four YAML files are read back each job
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def redact_yaml(path: Path) -> None:
    """Rewrite one of Hydra's YAML copies with its secrets redacted (unchanged when it has none)."""
    try:
        text = path.read_text()
        data = yaml.load(text, Loader=_SafeLoader)
    except (OSError, yaml.YAMLError):
        return
    clean = redact.redact_tree(data)
    if clean == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(yaml.safe_dump(clean, sort_keys=False, allow_unicode=True))
        tmp.replace(path)
    except OSError as e:  # the job's own disk check reports a full or unwritable dir
        log.warning("cannot redact %s: %s", path, e)
