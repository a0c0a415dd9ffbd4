"""Hugging Face datasets through the `datasets` package (optional; local folders or the local
cache only: HF_DATASETS_OFFLINE is set, nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.config import HFDatasetConfig
from sweeper.datasets.text_files import fit
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


def _load(cfg: HFDatasetConfig) -> Any:
    if not cfg.name:
        raise ConfigError("dataset.name: no Hugging Face dataset given")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise ConfigError(
            "dataset.kind=hf: needs the `datasets` package (pip install datasets)"
        ) from None
    path = Path(cfg.name).expanduser()
    try:
        if (path / "dataset_info.json").is_file() or (path / "state.json").is_file():
            data = datasets.load_from_disk(str(path))
            return data[cfg.split] if isinstance(data, datasets.DatasetDict) else data
        return datasets.load_dataset(cfg.name, cfg.subset, split=cfg.split)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError(f"dataset.name: cannot load {cfg.name!r}: {reason}") from None


def check_hf(cfg: HFDatasetConfig) -> None:
    data = _load(cfg)
    columns = list(getattr(data, "column_names", []) or [])
    if cfg.prompt_field not in columns:
        raise ConfigError(
            f"dataset.prompt_field: {cfg.prompt_field!r} not in {cfg.name} columns {columns}"
        )


def sample_hf(cfg: HFDatasetConfig, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
    check_hf(cfg)
    data = _load(cfg)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(data)).tolist()[:num_prompts]
    specs = []
    for i in order:
        row = data[int(i)]
        prompt = str(row[cfg.prompt_field])
        out = row.get(cfg.output_len_field) if cfg.output_len_field else None
        specs.append(
            RequestSpec(
                prompt=prompt,
                prompt_len=count_tokens(tokenizer, prompt),
                output_len=int(out) if out is not None else cfg.output_len,
            )
        )
    return fit(specs, num_prompts, rng, f"dataset {cfg.name}")
