"""Synthetic prompts: random tokens of exact lengths (`random`, `prefix_repetition`, and the
random-token prompts of length-only traces)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.config import PrefixRepetitionDatasetConfig, RandomDatasetConfig
from sweeper.datasets.tokenizer import ESTIMATE_WORDS, encode, vocab_ids, word_ids
from sweeper.records import RequestSpec

# fewer whole-word tokens than this: fall back to any token and adjust by re-encoding
MIN_WORD_TOKENS = 64


class PromptMaker:
    """Text of exactly `n` tokens: random whole-word tokens (which re-encode to themselves), or
    random tokens re-encoded and adjusted until the count matches."""

    def __init__(self, tokenizer: Any | None, rng: np.random.Generator) -> None:
        self.tokenizer = tokenizer
        self.rng = rng
        self.vocab: np.ndarray | None = None
        if tokenizer is not None:
            words = word_ids(tokenizer)
            self.vocab = np.asarray(
                words if len(words) >= MIN_WORD_TOKENS else vocab_ids(tokenizer)
            )
        self.words = np.asarray(ESTIMATE_WORDS)

    def random_text(self, n: int) -> str:
        if n <= 0:
            return ""
        if self.tokenizer is None:
            return " " + " ".join(self.rng.choice(self.words, n).tolist())
        ids = self.rng.choice(self.vocab, n).tolist()  # type: ignore[arg-type]
        return self.tokenizer.decode(ids)

    def make(self, n: int, prefix: str = "") -> tuple[str, int]:
        """(text, token count) with text starting with `prefix`; count == n when achievable."""
        if self.tokenizer is None:
            have = len(prefix.split())
            return prefix + self.random_text(max(n - have, 0)), max(n, have)
        text = prefix + self.random_text(max(n - len(encode(self.tokenizer, prefix)), 0))
        for _ in range(10):
            ids = encode(self.tokenizer, text)
            if len(ids) == n:
                return text, n
            if len(ids) > n:
                text = self.tokenizer.decode(ids[:n])
            else:
                text = text + self.random_text(n - len(ids))
        return text, len(encode(self.tokenizer, text))


def length_range(center: int, ratio: float, key: str) -> tuple[int, int]:
    if center < 0:
        raise ConfigError(f"dataset.{key}: must be >= 0, got {center}")
    if not 0 <= ratio < 1:
        raise ConfigError(f"dataset.range_ratio: must be in [0, 1), got {ratio}")
    return max(math.floor(center * (1 - ratio)), 0), math.ceil(center * (1 + ratio))


def sample_random(
    cfg: RandomDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    rng = np.random.default_rng(cfg.seed)
    in_lo, in_hi = length_range(cfg.input_len, cfg.range_ratio, "input_len")
    out_lo, out_hi = length_range(cfg.output_len, cfg.range_ratio, "output_len")
    input_lens = rng.integers(in_lo, in_hi + 1, size=num_prompts)
    output_lens = np.maximum(rng.integers(out_lo, out_hi + 1, size=num_prompts), 1)
    maker = PromptMaker(tokenizer, rng)
    prefix, _ = maker.make(cfg.prefix_len) if cfg.prefix_len > 0 else ("", 0)
    specs = []
    for n_in, n_out in zip(input_lens.tolist(), output_lens.tolist(), strict=True):
        text, n = maker.make(cfg.prefix_len + n_in, prefix)
        specs.append(RequestSpec(prompt=text, prompt_len=n, output_len=int(n_out)))
    return specs


def sample_prefix_repetition(
    cfg: PrefixRepetitionDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    if cfg.num_prefixes < 1:
        raise ConfigError(f"dataset.num_prefixes: must be >= 1, got {cfg.num_prefixes}")
    rng = np.random.default_rng(cfg.seed)
    maker = PromptMaker(tokenizer, rng)
    prefixes = [maker.make(cfg.prefix_len)[0] for _ in range(cfg.num_prefixes)]
    specs = []
    for i in range(num_prompts):
        group = i % cfg.num_prefixes
        text, n = maker.make(cfg.prefix_len + cfg.suffix_len, prefixes[group])
        specs.append(
            RequestSpec(
                prompt=text, prompt_len=n, output_len=cfg.output_len, labels={"prefix": str(group)}
            )
        )
    order = rng.permutation(len(specs))
    return [specs[i] for i in order]
