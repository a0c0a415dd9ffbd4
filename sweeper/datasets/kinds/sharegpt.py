"""`dataset=sharegpt`: ShareGPT conversations, the first human turn as the prompt
(`turns=first`), or every turn as a multi-turn session (`turns=all`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig, fit
from sweeper.datasets.files import read_json
from sweeper.datasets.sessions import cycle_sessions, first_request
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec, SessionSpec, TurnSpec

# ShareGPT's speaker names → chat roles
ROLE_OF = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "system": "system",
}


def _turn_text(turn: Any) -> str | None:
    if not isinstance(turn, dict):
        return None
    text = turn.get("value", turn.get("content"))
    return text if isinstance(text, str) else None


def _role(turn: Any) -> str | None:
    speaker = turn.get("from", turn.get("role")) if isinstance(turn, dict) else None
    return ROLE_OF.get(str(speaker).lower()) if speaker is not None else None


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
    turns: str = option(
        "first",
        "first: the first human turn as one request (vLLM's sampling); all: every turn, as a "
        "multi-turn session (num_prompts counts sessions; the filters apply per turn)",
        choices=("first", "all"),
    )
    max_turns: int | None = option(None, "turns=all: keep at most this many turns", ge=1)
    max_context_len: int | None = option(
        None, "turns=all: end a session before its history would pass this many tokens", ge=1
    )

    def is_sessions(self) -> bool:
        return self.turns == "all"

    def check(self) -> None:
        if not any(len(c) >= 2 for c in _conversations(self.path)):
            raise ConfigError(f"{self.path}: no conversation with a prompt and an answer")

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        if self.turns == "all":
            return [first_request(s) for s in self.sample_sessions(num_prompts, tokenizer)]
        return self._sample_first(num_prompts, tokenizer)

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        """Every conversation in a seeded order, as a session of its alternating user/assistant
        pairs: a conversation is cut at its first message out of turn, at the first pair
        outside the length filters, at max_turns, or before the history passes
        max_context_len; one with no pair left is dropped."""
        rng = np.random.default_rng(self.seed)
        convs = _conversations(self.path)
        order = list(range(len(convs)))
        random.Random(self.seed).shuffle(order)
        sessions: list[SessionSpec] = []
        for i in order:
            if len(sessions) >= num_sessions:
                break
            session = self._session(f"s{i}", convs[i], tokenizer)
            if session is not None:
                sessions.append(session)
        return cycle_sessions(sessions, num_sessions, rng, f"dataset {self.path}")

    def _session(self, sid: str, conv: list[Any], tokenizer: Any | None) -> SessionSpec | None:
        system, system_len, start = "", 0, 0
        if conv and _role(conv[0]) == "system":
            system = _turn_text(conv[0]) or ""
            system_len, start = count_tokens(tokenizer, system), 1
        turns: list[TurnSpec] = []
        context = system_len
        for j in range(start, len(conv) - 1, 2):
            if self.max_turns is not None and len(turns) >= self.max_turns:
                break
            ask, answer = conv[j], conv[j + 1]
            if _role(ask) != "user" or _role(answer) != "assistant":
                break  # out of turn: the rest is not a conversation we can replay
            pair = self._pair([ask, answer], tokenizer)
            if pair is None:
                break
            context += pair.prompt_len + (pair.output_len or 0)
            if self.max_context_len is not None and context > self.max_context_len:
                break
            turns.append(
                TurnSpec(
                    messages=[{"role": "user", "content": pair.prompt}],
                    input_len=pair.prompt_len,
                    output_len=pair.output_len,
                    reference=_turn_text(answer) or "",
                )
            )
        if not turns:
            return None
        return SessionSpec(session_id=sid, turns=turns, system=system, system_len=system_len)

    def _sample_first(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
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
