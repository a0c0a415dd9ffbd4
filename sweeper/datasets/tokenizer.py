"""Tokenizers from local folders (transformers), and the estimate used when there is none.

Without a tokenizer, prompt lengths are estimates: synthetic prompts are built from common
English words each of which is one token in the usual byte-level BPE vocabularies (GPT-2,
Llama, Qwen: " the", " of", ...), so a prompt of N words is counted as N tokens; lengths of
file-backed text are estimated as ceil(characters / 4), the usual rule of thumb for English.
The server's count (usage.prompt_tokens) can differ by the special tokens it adds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Protocol

from instruments.errors import ConfigError


class Tokenizer(Protocol):
    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


# common words, one BPE token each (with the leading space) in GPT-2/Llama/Qwen vocabularies
_WORDS = (
    "the of and to in is was for on that with as by at from his her it an are were which "
    "be this has had have not but they their one all she he been who its new more after "
    "first also two time would other when there can into year out some only most over "
    "these could many than them made about people then may up so what world where said "
    "well back state city under three while both since between during through because high "
    "part such life"
)
ESTIMATE_WORDS = tuple(_WORDS.split())


def load_tokenizer(path: str | None) -> Any | None:
    """A transformers tokenizer from a local folder (or the local Hugging Face cache), or None.

    Never touches the network (HF_HUB_OFFLINE). Raises ConfigError naming `model.tokenizer`.
    """
    if path is None or path == "":
        return None
    if path.startswith(("/", ".", "~")) and not Path(path).expanduser().exists():
        # clearly a path, not a hub id: say so before importing transformers (slow, noisy)
        raise ConfigError(f"model.tokenizer: no such file or folder: {path}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoTokenizer, PreTrainedTokenizerFast
    except ImportError as exc:
        raise ConfigError(
            f"model.tokenizer: {path!r} needs the `transformers` package (pip install transformers)"
        ) from exc
    folder = Path(path).expanduser()
    if folder.is_file() and folder.suffix == ".json":
        return PreTrainedTokenizerFast(tokenizer_file=str(folder))
    try:
        return AutoTokenizer.from_pretrained(
            str(folder) if folder.exists() else path, local_files_only=True
        )
    except Exception as exc:
        if (folder / "tokenizer.json").is_file():
            return PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
        where = "folder" if folder.exists() else "local folder nor a cached hub id"
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError(
            f"model.tokenizer: cannot load {path!r} (not a tokenizer {where}): {reason}"
        ) from exc


def encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def count_tokens(tokenizer: Any | None, text: str) -> int:
    """Token count of `text` (no special tokens), or the chars/4 estimate without a tokenizer."""
    if tokenizer is None:
        return max(1, math.ceil(len(text) / 4)) if text else 0
    return len(encode(tokenizer, text))


def vocab_ids(tokenizer: Any) -> list[int]:
    """Ids random prompts may use: the whole vocabulary minus special tokens."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    size = len(tokenizer)
    return [i for i in range(size) if i not in special]


def word_ids(tokenizer: Any) -> list[int]:
    """Ids of whole-word tokens (" word": a space then ASCII letters) that encode back to
    themselves. Pre-tokenizers split text at spaces, so a sequence of such tokens re-encodes to
    exactly the same ids: prompts built from them are token-exact without trial and error."""
    ids = vocab_ids(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in ids])
    cand = [
        (i, t) for i, t in zip(ids, texts, strict=True)
        if len(t) >= 2 and t[0] == " " and t[1:].isascii() and t[1:].isalpha()
    ]  # fmt: skip
    if not cand:
        return []
    encoded = tokenizer([t for _, t in cand], add_special_tokens=False)["input_ids"]
    return [i for (i, _), enc in zip(cand, encoded, strict=True) if list(enc) == [i]]
