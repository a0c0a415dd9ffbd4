"""Prompt → token keys (for lengths and prefix-cache block hashes).

With `--tokenizer PATH` (a local folder with tokenizer.json, loaded by the `tokenizers` package),
the keys are the real token ids. Without one, the documented deterministic estimate:

    every run of letters/digits/underscore counts ceil(len / 8) tokens, and every other
    non-space character counts one token; whitespace is free.

So " hello world" is 2 tokens, "internationalization" (20 chars) is 3, "a, b." is 4. Prompts made
of short words (as the random dataset builds them) get one token per word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PIECE = re.compile(r"\w+|[^\w\s]")
WORD_CHARS_PER_TOKEN = 8


def estimate_keys(text: str) -> list[int]:
    """Token keys of the estimate (hashes of the pieces; equal text gives equal keys)."""
    pieces = _PIECE.findall(text)
    if max(map(len, pieces), default=0) <= WORD_CHARS_PER_TOKEN:
        return [hash(piece) for piece in pieces]
    keys: list[int] = []
    for piece in pieces:
        for start in range(0, len(piece), WORD_CHARS_PER_TOKEN):
            keys.append(hash(piece[start : start + WORD_CHARS_PER_TOKEN]))
    return keys


def estimate_len(text: str) -> int:
    return len(estimate_keys(text))


class PromptTokenizer:
    """Counts prompt tokens with a local tokenizer if given, else with the estimate."""

    def __init__(self, tokenizer_path: str | None = None) -> None:
        self._encode: Callable[[str], list[int]] | None = None
        if tokenizer_path:
            self._encode = load_tokenizer(tokenizer_path)

    @property
    def exact(self) -> bool:
        return self._encode is not None

    def keys(self, text: str) -> list[int]:
        if self._encode is None:
            return estimate_keys(text)
        return self._encode(text)


def load_tokenizer(path: str) -> Callable[[str], list[int]]:
    """text → token ids, from a local folder: its tokenizer.json through the `tokenizers`
    package, else (e.g. a sentencepiece-only folder) transformers' AutoTokenizer, offline."""
    folder = Path(path)
    file = folder / "tokenizer.json" if folder.is_dir() else folder
    if file.is_file():
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ValueError("--tokenizer needs the `tokenizers` package") from exc
        tokenizer = Tokenizer.from_file(str(file))
        return lambda text: list(tokenizer.encode(text, add_special_tokens=True).ids)
    if folder.is_dir():
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise ValueError(
                f"--tokenizer: no tokenizer.json at {path} (and no `transformers` to read it)"
            ) from exc
        try:
            auto = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:  # transformers raises many kinds
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(f"--tokenizer: cannot load a tokenizer from {path}: {reason}") from exc
        return lambda text: list(auto.encode(text))
    raise ValueError(f"--tokenizer: no tokenizer.json at {path}")


def chat_prompt_text(messages: list[dict[str, Any]]) -> str:
    """The text whose tokens stand for a chat prompt: the message contents, one per line (text
    parts of multi-part contents included; no chat template overhead is added)."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    parts.append(part["text"])
    return "\n".join(parts)
