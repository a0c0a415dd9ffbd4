"""Datasets: `validate` (cheap, before any server starts), `load_tokenizer`, `sample`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instruments.errors import ConfigError
from sweeper.datasets import features, hf, long_doc, synthetic, text_files, traces
from sweeper.datasets.config import (
    BurstGPTDatasetConfig,
    CustomDatasetConfig,
    DatasetConfig,
    HFDatasetConfig,
    PrefixRepetitionDatasetConfig,
    RandomDatasetConfig,
    ShareGPTDatasetConfig,
    SonnetDatasetConfig,
    TraceDatasetConfig,
)
from sweeper.datasets.feature_config import (
    ImageFolderDatasetConfig,
    LongDocQADatasetConfig,
    RandomMMDatasetConfig,
    RerankDatasetConfig,
)
from sweeper.datasets.tokenizer import load_tokenizer
from sweeper.records import RequestSpec


def _no_file(cfg: Any) -> None:
    """Synthetic kinds have no file; their numbers are checked by sampling a single prompt."""
    KINDS[cfg.kind][2](cfg, 1, None)


# kind -> (config class, validate, sample)
KINDS: dict[str, tuple[type[DatasetConfig], Callable[[Any], None], Callable[..., Any]]] = {
    "random": (RandomDatasetConfig, _no_file, synthetic.sample_random),
    "prefix_repetition": (
        PrefixRepetitionDatasetConfig,
        _no_file,
        synthetic.sample_prefix_repetition,
    ),
    "sharegpt": (ShareGPTDatasetConfig, text_files.check_sharegpt, text_files.sample_sharegpt),
    "sonnet": (SonnetDatasetConfig, text_files.check_sonnet, text_files.sample_sonnet),
    "custom": (CustomDatasetConfig, text_files.check_custom, text_files.sample_custom),
    "burstgpt": (BurstGPTDatasetConfig, traces.check_burstgpt, traces.sample_burstgpt),
    "trace": (TraceDatasetConfig, traces.check_trace, traces.sample_trace),
    "hf": (HFDatasetConfig, hf.check_hf, hf.sample_hf),
    # feature workloads (issue 9)
    "long_doc_qa": (LongDocQADatasetConfig, long_doc.check, long_doc.sample_long_doc_qa),
    "random_mm": (RandomMMDatasetConfig, _no_file, features.sample_random_mm),
    "image_folder": (ImageFolderDatasetConfig, features.check_folder, features.sample_folder),
    "rerank": (RerankDatasetConfig, _no_file, features.sample_rerank),
}


def _entry(cfg: DatasetConfig) -> tuple[Callable[[Any], None], Callable[..., Any]]:
    if cfg.kind not in KINDS:
        raise ConfigError(f"dataset.kind: unknown kind {cfg.kind!r} (one of {', '.join(KINDS)})")
    klass, check, sample_fn = KINDS[cfg.kind]
    if not isinstance(cfg, klass):
        raise ConfigError(
            f"dataset.kind: {cfg.kind!r} needs the base_dataset_{cfg.kind} schema, "
            f"got {type(cfg).__name__}"
        )
    return check, sample_fn


def validate(cfg: DatasetConfig) -> None:
    """Cheap checks before any server starts (ConfigError `<file>:<line>: <what>`)."""
    check, _ = _entry(cfg)
    check(cfg)


def sample(cfg: DatasetConfig, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
    """`num_prompts` request specs, deterministic for cfg.seed (and the tokenizer)."""
    if num_prompts < 1:
        raise ConfigError(f"num_prompts: must be >= 1, got {num_prompts}")
    _, sample_fn = _entry(cfg)
    return sample_fn(cfg, num_prompts, tokenizer)


__all__ = ["KINDS", "DatasetConfig", "load_tokenizer", "sample", "validate"]
