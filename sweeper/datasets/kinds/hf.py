"""`dataset=hf`: a Hugging Face dataset through the `datasets` package (optional; local folders
or the local cache only: HF_DATASETS_OFFLINE is set, nothing is downloaded)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig, fit
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


@DATASET_KINDS.register("hf")
@dataclass
class HFDatasetConfig(DatasetConfig):
    """A Hugging Face dataset through `datasets` (a local dataset folder or a cached hub id)."""

    kind: str = option("hf", KIND_HELP)
    name: str = option("", "a local dataset folder or a cached hub id")
    subset: str | None = option(None, "the dataset's configuration (subset) name")
    split: str = option("train", "the split to sample from")
    prompt_field: str = option("prompt", "column of the prompt text")
    output_len: int = option(256, "output tokens where the row has no output length field")
    output_len_field: str | None = option(None, "column of the output length (null = none)")

    def check(self) -> None:
        columns = list(getattr(self._load(), "column_names", []) or [])
        if self.prompt_field not in columns:
            raise ConfigError(
                f"dataset.prompt_field: {self.prompt_field!r} not in {self.name} columns {columns}"
            )

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        self.check()
        data = self._load()
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(data)).tolist()[:num_prompts]
        specs = []
        for i in order:
            row = data[int(i)]
            prompt = str(row[self.prompt_field])
            out = row.get(self.output_len_field) if self.output_len_field else None
            specs.append(
                RequestSpec(
                    prompt=prompt,
                    prompt_len=count_tokens(tokenizer, prompt),
                    output_len=int(out) if out is not None else self.output_len,
                )
            )
        return fit(specs, num_prompts, rng, f"dataset {self.name}")

    def _load(self) -> Any:
        if not self.name:
            raise ConfigError("dataset.name: no Hugging Face dataset given")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import datasets
        except ImportError:
            raise ConfigError(
                "dataset.kind=hf: needs the `datasets` package (pip install datasets)"
            ) from None
        path = Path(self.name).expanduser()
        try:
            if (path / "dataset_info.json").is_file() or (path / "state.json").is_file():
                data = datasets.load_from_disk(str(path))
                return data[self.split] if isinstance(data, datasets.DatasetDict) else data
            return datasets.load_dataset(self.name, self.subset, split=self.split)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:200]
            raise ConfigError(f"dataset.name: cannot load {self.name!r}: {reason}") from None
