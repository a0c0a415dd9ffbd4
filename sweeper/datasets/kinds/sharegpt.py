"""`dataset=sharegpt`: ShareGPT conversations, the first human turn as the prompt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig, fit
from sweeper.datasets.files import read_json
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


def _turn_text(turn: Any) -> str | None:
    if not isinstance(turn, dict):
        return None
    text = turn.get("value", turn.get("content"))
    return text if isinstance(text, str) else None


def _conversations(path: str) -> list[list[Any]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a JSON list of conversations")
    out = []
    for i, entry in enumerate(data):
        convs = (
            entry.get("conversations", entry.get("messages")) if isinstance(entry, dict) else None
        )
        if not isinstance(convs, list):
            raise ConfigError(f"{path}: entry {i}: no 'conversations' list")
        for j, turn in enumerate(convs[:2]):
            if _turn_text(turn) is None:
                raise ConfigError(f"{path}: entry {i}: turn {j} has no text 'value'/'content'")
        out.append(convs)
    return out


@DATASET_KINDS.register("sharegpt")
@dataclass
class ShareGPTDatasetConfig(DatasetConfig):
    """ShareGPT JSON (a list of {"conversations": [{"from"/"role", "value"/"content"}, ...]}):
    the first human turn is the prompt, the reply's length is the output length."""

    kind: str = option("sharegpt", KIND_HELP)
    path: str = option("", "the ShareGPT JSON file")
    output_len: int | None = option(
        None, "force every output length (null = the reference answer's token count)"
    )
    # vLLM's filters
    min_len: int = option(4, "drop pairs with a prompt or answer shorter than this (tokens)")
    max_prompt_len: int = option(1024, "drop pairs with a prompt longer than this (tokens)")
    max_total_len: int = option(2048, "drop pairs with prompt + answer longer than this")
    as_chat: bool = option(
        False, "send the first turn as chat messages (openai-chat) besides the plain prompt"
    )

    def check(self) -> None:
        if not any(len(c) >= 2 for c in _conversations(self.path)):
            raise ConfigError(f"{self.path}: no conversation with a prompt and an answer")

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        """vLLM's ShareGPT sampling: shuffle (seeded), first turn = prompt, second = reference
        answer, drop pairs outside the length filters, stop at num_prompts. The shuffle is
        vLLM's own (`random.seed(seed); random.shuffle(...)`), so the same file and seed give
        the same requests in the same order as `vllm bench serve --dataset-name sharegpt`."""
        rng = np.random.default_rng(self.seed)
        convs = [c for c in _conversations(self.path) if len(c) >= 2]
        order = list(range(len(convs)))
        random.Random(self.seed).shuffle(order)
        specs: list[RequestSpec] = []
        for i in order:
            if len(specs) >= num_prompts:
                break
            spec = self._pair(convs[i], tokenizer)
            if spec is not None:
                specs.append(spec)
        return fit(specs, num_prompts, rng, f"dataset {self.path}")

    def _pair(self, conv: list[Any], tokenizer: Any | None) -> RequestSpec | None:
        """The request of a conversation's first two turns; None when a filter drops it."""
        prompt = _turn_text(conv[0]) or ""
        prompt_len = count_tokens(tokenizer, prompt)
        output_len = self.output_len
        if output_len is None:
            output_len = count_tokens(tokenizer, _turn_text(conv[1]) or "")
            if output_len < self.min_len:
                return None
        if prompt_len < self.min_len or prompt_len > self.max_prompt_len:
            return None
        if prompt_len + output_len > self.max_total_len:
            return None
        messages = [{"role": "user", "content": prompt}] if self.as_chat else None
        return RequestSpec(
            prompt=prompt, prompt_len=prompt_len, output_len=output_len, messages=messages
        )
