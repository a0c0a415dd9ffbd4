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
from omegaconf.errors import OmegaConfBaseException

from instruments import redact
from sweeper.runtime import process_runtime
from sweeper.schema import TrackingConfig

log = logging.getLogger(__name__)


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking: TrackingConfig = OmegaConf.to_object(config.tracking)  # type: ignore[assignment]
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        overrides = typed_overrides(config)
        # Hydra's launcher logs each job's overrides before the job starts
        redact.remember(redact.override_secrets(overrides))
        redact.install_log_redaction()
        process_runtime().sweep.open(sweep_dir, tracking, overrides)

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


def typed_overrides(config: DictConfig) -> list[str]:
    # as typed: resolving would expand `${oc.env:SECRET}` in an override into the secret
    task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    return [str(o) for o in task] if isinstance(task, list) else []


def learn_secrets(config: DictConfig) -> None:
    """Remember the job's secrets: its secret-keyed and environment-filled values, the values
    of its secret-keyed overrides, the keys its `*api_key_env` name."""
    redact.remember(redact.override_secrets(typed_overrides(config)))
    unresolved = OmegaConf.to_container(config, resolve=False)
    try:
        resolved = OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException:
        resolved = unresolved  # the job reports the bad interpolation itself
    for tree in (unresolved, resolved):
        if isinstance(tree, dict):
            tree.pop("hydra", None)
    values, env_keys = redact.secrets_in_config(resolved, unresolved)
    # the interpreter path the shipped conf reads from SWEEPER_VLLM_PYTHON is not a secret
    env_keys.discard("server.executable")
    if isinstance(resolved, dict):
        values.discard(str(resolved.get("server", {}).get("executable")))
    redact.remember(values)
    redact.remember_env_keys(env_keys)


def redact_yaml(path: Path) -> None:
    """Rewrite one of Hydra's YAML copies with its secrets redacted (unchanged when it has none)."""
    try:
        text = path.read_text()
        data = yaml.safe_load(text)
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
