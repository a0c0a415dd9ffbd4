"""Datasets: `validate` (cheap, before any server starts), `load_tokenizer`, `sample`.

Each dataset kind is one module of `sweeper.datasets.kinds` (its schema, check and sampler),
registered in `DATASET_KINDS` under its `dataset.kind` name; all are imported here.
"""

from __future__ import annotations

from typing import Any

from instruments.errors import ConfigError
from sweeper.datasets.base import DATASET_KINDS, DatasetConfig
from sweeper.datasets.tokenizer import load_tokenizer
from sweeper.records import RequestSpec, SessionSpec

DATASET_KINDS.discover("sweeper.datasets.kinds")


def validate(cfg: DatasetConfig) -> None:
    """Cheap checks before any server starts (ConfigError `<file>:<line>: <what>`)."""
    cfg.validate()


def sample(cfg: DatasetConfig, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
    """`num_prompts` request specs, deterministic for cfg.seed (and the tokenizer)."""
    if num_prompts < 1:
        raise ConfigError(f"num_prompts: must be >= 1, got {num_prompts}")
    cfg.check_schema()
    return cfg.sample(num_prompts, tokenizer)


def sample_sessions(
    cfg: DatasetConfig, num_sessions: int, tokenizer: Any | None
) -> list[SessionSpec]:
    """`num_sessions` sessions of a multi-turn dataset (`cfg.is_sessions()`), deterministic for
    cfg.seed (and the tokenizer)."""
    if num_sessions < 1:
        raise ConfigError(f"num_prompts: must be >= 1 session, got {num_sessions}")
    cfg.check_schema()
    return cfg.sample_sessions(num_sessions, tokenizer)


__all__ = [
    "DATASET_KINDS",
    "DatasetConfig",
    "load_tokenizer",
    "sample",
    "sample_sessions",
    "validate",
]
