"""`dataset=random`: random token prompts with token-exact lengths."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec


def length_range(center: int, ratio: float) -> tuple[int, int]:
    """[len * (1 - r), len * (1 + r)] in whole tokens."""
    if not 0 <= ratio < 1:
        raise ConfigError(f"dataset.range_ratio: must be in [0, 1), got {ratio}")
    return max(math.floor(center * (1 - ratio)), 0), math.ceil(center * (1 + ratio))


@DATASET_KINDS.register("random")
@dataclass
class RandomDatasetConfig(DatasetConfig):
    """Random token prompts with token-exact lengths (through the tokenizer when there is one)."""

    kind: str = option("random", KIND_HELP)
    input_len: int = option(256, "prompt tokens", ge=0)
    output_len: int = option(128, "output tokens", ge=0)
    range_ratio: float = option(
        0.0, "lengths drawn uniformly from [len * (1 - r), len * (1 + r)]; r in [0, 1)"
    )
    prefix_len: int = option(0, "tokens of a prefix shared by every prompt")

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        rng = np.random.default_rng(self.seed)
        in_lo, in_hi = length_range(self.input_len, self.range_ratio)
        out_lo, out_hi = length_range(self.output_len, self.range_ratio)
        input_lens = rng.integers(in_lo, in_hi + 1, size=num_prompts)
        output_lens = np.maximum(rng.integers(out_lo, out_hi + 1, size=num_prompts), 1)
        maker = PromptMaker(tokenizer, rng)
        prefix, _ = maker.make(self.prefix_len) if self.prefix_len > 0 else ("", 0)
        specs = []
        for n_in, n_out in zip(input_lens.tolist(), output_lens.tolist(), strict=True):
            text, n = maker.make(self.prefix_len + n_in, prefix)
            specs.append(RequestSpec(prompt=text, prompt_len=n, output_len=int(n_out)))
        return specs
