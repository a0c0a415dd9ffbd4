"""Synthetic prompts: random tokens of exact lengths (the `random`, `prefix_repetition` and
feature kinds, and the random-token prompts of length-only traces)."""

from __future__ import annotations

from typing import Any

import numpy as np

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


# (arrival s, input tokens, output tokens) of one row of a length-only trace
TraceRow = tuple[float, int, int]


def length_only_specs(
    rows: list[TraceRow], tokenizer: Any | None, rng: np.random.Generator
) -> list[RequestSpec]:
    """Random-token prompts of the rows' lengths, arriving at the rows' times."""
    maker = PromptMaker(tokenizer, rng)
    specs = []
    for ts, n_in, n_out in rows:
        text, n = maker.make(n_in)
        specs.append(RequestSpec(prompt=text, prompt_len=n, output_len=n_out, arrival_s=ts))
    return specs
