"""`dataset=prefix_repetition`: shared prefixes, each followed by a unique suffix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec


@DATASET_KINDS.register("prefix_repetition")
@dataclass
class PrefixRepetitionDatasetConfig(DatasetConfig):
    """`num_prefixes` shared prefixes, each followed by a unique suffix (prefix-cache sweeps)."""

    kind: str = option("prefix_repetition", KIND_HELP)
    prefix_len: int = option(256, "tokens of each shared prefix")
    suffix_len: int = option(256, "tokens of the unique suffix after it")
    num_prefixes: int = option(10, "distinct prefixes (requests cycle through them)", ge=1)
    output_len: int = option(128, "output tokens")

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        prefixes = [maker.make(self.prefix_len)[0] for _ in range(self.num_prefixes)]
        specs = []
        for i in range(num_prompts):
            group = i % self.num_prefixes
            text, n = maker.make(self.prefix_len + self.suffix_len, prefixes[group])
            specs.append(
                RequestSpec(
                    prompt=text,
                    prompt_len=n,
                    output_len=self.output_len,
                    labels={"prefix": str(group)},
                )
            )
        order = rng.permutation(len(specs))
        return [specs[i] for i in order]
