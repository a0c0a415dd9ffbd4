"""What the job knows about where it runs (from Hydra, turned into plain values by the CLI)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from instruments import redact
from instruments.redact import is_secret_key, is_secret_name, redact_override, redact_text

# keys that do not change what is measured (left out of the config hash)
_NOT_MEASURED = (
    "tracking.",
    "print_result",
    "load.progress",
    "report.",
    "resume",
    "gpu_ids",
    "repeats",
    # how long a job may take and when it counts as FINISHED: the same measurement either way
    "job_timeout_s",
    "min_success_fraction",
    # when to judge, stop or skip a saturated point (an early-stopped job says so itself)
    "saturation.",
)


@dataclass
class JobContext:
    job_dir: Path
    # None for a single run (no -m)
    sweep_dir: Path | None = None
    job_num: int = 0
    overrides: list[str] = field(default_factory=list)
    # the composed config, resolved, as plain containers (hydra node excluded)
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # every writer (result.json, tags, run names) takes the overrides from here
        self.overrides = [redact_override(o) for o in self.overrides]

    @property
    def multirun(self) -> bool:
        return self.sweep_dir is not None

    @property
    def servers_dir(self) -> Path:
        """Where server work dirs and logs go: shared by the sweep's jobs."""
        return (self.sweep_dir or self.job_dir) / "servers"

    @property
    def gpu_lock_dir(self) -> Path:
        """Where the jobs of a sweep lock their GPU sets (launchers.gpus)."""
        return (self.sweep_dir or self.job_dir) / ".gpus"


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


def is_secret(key: str) -> bool:
    """A key whose value is redacted (instruments.redact: a secret-looking name, or a value
    that came from the environment)."""
    return is_secret_key(key)


def params(config: Mapping[str, Any]) -> dict[str, str]:
    """The composed config as MLflow params: dotted keys, strings, secret keys left out (and
    remembered secrets in other values as `***`)."""
    out = {}
    for key, value in flatten(config):
        if is_secret(key):
            continue
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        out[key] = redact_text(text)
    return out


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable hash of what this job measures (tracking and display keys left out). Values
    filled from the environment count (two datasets named by $DATA differ); secret-named keys
    do not (a rotated key measures the same). The hash is one-way and is all that is stored."""
    kept = {
        key: json.dumps(value) if isinstance(value, list | dict) else str(value)
        for key, value in flatten(config)
        if not is_secret_name(key) and not key.startswith(_NOT_MEASURED)
    }
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def typed_overrides(config: DictConfig) -> list[str]:
    """The job's overrides as typed (resolving would expand `${oc.env:SECRET}` into the
    secret); none without a Hydra node."""
    task = OmegaConf.select(config, "hydra.overrides.task")
    if task is None:
        return []
    task = OmegaConf.to_container(task, resolve=False)
    return [str(o) for o in task] if isinstance(task, list) else []


def learn_secrets(config: DictConfig) -> None:
    """Remember the job's secrets (instruments.redact): its secret-keyed and environment-filled
    values, the values of its secret-keyed overrides, the keys its `*api_key_env` name. Run by
    the Hydra callback before each job; whatever computes params or the config hash of a config
    outside a job (the dry run) runs it first, so both hash alike."""
    redact.remember(redact.override_secrets(typed_overrides(config)))
    task = OmegaConf.masked_copy(config, [str(k) for k in config if k != "hydra"])
    unresolved = OmegaConf.to_container(task, resolve=False)
    try:
        resolved = OmegaConf.to_container(task, resolve=True)
    except OmegaConfBaseException:
        resolved = unresolved  # the job reports the bad interpolation itself
    values, env_keys = redact.secrets_in_config(resolved, unresolved)
    # the interpreter path the shipped conf reads from SWEEPER_VLLM_PYTHON is not a secret
    env_keys.discard("server.executable")
    if isinstance(resolved, dict):
        values.discard(str(resolved.get("server", {}).get("executable")))
    redact.remember(values)
    redact.remember_env_keys(env_keys)
