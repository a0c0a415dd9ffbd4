"""`dataset=sonnet`: prompts cut from a text corpus, with a shared prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.files import require_file
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


def _corpus_lines(path: str) -> list[str]:
    p = require_file(path)
    try:
        lines = [ln.rstrip("\n") for ln in p.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise ConfigError(f"{path}: no text lines")
    return lines


@DATASET_KINDS.register("sonnet")
@dataclass
class SonnetDatasetConfig(DatasetConfig):
    """Prompts cut from a text corpus (one line a verse): a shared prefix of the first lines,
    then random lines until input_len tokens."""

    kind: str = option("sonnet", KIND_HELP)
    path: str = option("", "the text corpus, one verse a line")
    input_len: int = option(550, "prompt tokens (a whole line may overshoot)")
    output_len: int = option(150, "output tokens")
    prefix_len: int = option(200, "tokens of the shared prefix (the instruction and first lines)")
    instruction: str = option(
        "Pick as many lines as you can from these poem lines:\n", "text every prompt starts with"
    )

    def check(self) -> None:
        _corpus_lines(self.path)
        if self.prefix_len > self.input_len:
            raise ConfigError(
                f"dataset.prefix_len: {self.prefix_len} exceeds dataset.input_len {self.input_len}"
            )

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        """Instruction + the corpus's first lines up to prefix_len tokens (shared by every
        prompt) + seeded random lines until input_len tokens (a whole line may overshoot by
        less than one line)."""
        rng = np.random.default_rng(self.seed)
        lines = [ln + "\n" for ln in _corpus_lines(self.path)]
        line_tokens = [count_tokens(tokenizer, ln) for ln in lines]
        prefix = self.instruction
        used = count_tokens(tokenizer, prefix)
        for ln, n in zip(lines, line_tokens, strict=True):
            if used + n > self.prefix_len:
                break
            prefix += ln
            used += n
        specs = []
        for _ in range(num_prompts):
            parts, total = [prefix], used
            while total < self.input_len:
                k = int(rng.integers(len(lines)))
                parts.append(lines[k])
                total += line_tokens[k]
            text = "".join(parts)
            specs.append(
                RequestSpec(
                    prompt=text,
                    prompt_len=count_tokens(tokenizer, text),
                    output_len=self.output_len,
                )
            )
        return specs
