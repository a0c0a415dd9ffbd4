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
        self._tokenizer: Any = None
        if tokenizer_path:
            self._tokenizer = load_tokenizer(tokenizer_path)

    @property
    def exact(self) -> bool:
        return self._tokenizer is not None

    def keys(self, text: str) -> list[int]:
        if self._tokenizer is None:
            return estimate_keys(text)
        return list(self._tokenizer.encode(text, add_special_tokens=True).ids)


def load_tokenizer(path: str) -> Any:
    """A `tokenizers.Tokenizer` from a local folder (or a tokenizer.json file)."""
    file = Path(path)
    if file.is_dir():
        file = file / "tokenizer.json"
    if not file.is_file():
        raise ValueError(f"--tokenizer: no tokenizer.json at {path}")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ValueError(
            "--tokenizer needs the `tokenizers` package (pip install tokenizers)"
        ) from exc
    return Tokenizer.from_file(str(file))


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
