"""`dataset=custom`: JSONL prompts, one object a line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig, fit
from sweeper.datasets.files import as_number, read_jsonl
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


@DATASET_KINDS.register("custom")
@dataclass
class CustomDatasetConfig(DatasetConfig):
    """JSONL, one object a line: "prompt" (str) and optionally "output_len" (int) and
    "timestamp" (seconds, for load.schedule=trace)."""

    kind: str = option("custom", KIND_HELP)
    path: str = option("", "the JSONL file")
    output_len: int | None = option(256, "output tokens where a line has no output_len")
    shuffle: bool = option(False, "take the lines in a seeded random order (else file order)")

    def check(self) -> None:
        self._rows()

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        rng = np.random.default_rng(self.seed)
        specs = self._rows()
        if self.shuffle:
            specs = [specs[i] for i in rng.permutation(len(specs)).tolist()]
        for spec in specs:
            spec.prompt_len = count_tokens(tokenizer, spec.prompt)
        return fit(specs, num_prompts, rng, f"dataset {self.path}")

    def _rows(self) -> list[RequestSpec]:
        specs = []
        for lineno, row in read_jsonl(self.path):
            prompt = row.get("prompt")
            if not isinstance(prompt, str) or not prompt:
                raise ConfigError(f"{self.path}:{lineno}: 'prompt' must be a non-empty string")
            out = row.get("output_len", self.output_len)
            if out is not None:
                out = int(as_number(out, self.path, lineno, "output_len"))
            ts = row.get("timestamp")
            arrival = None if ts is None else as_number(ts, self.path, lineno, "timestamp", False)
            specs.append(
                RequestSpec(prompt=prompt, prompt_len=0, output_len=out, arrival_s=arrival)
            )
        return specs
