from __future__ import annotations

from pathlib import Path

import pytest

from instruments.errors import ConfigError
from sweeper.datasets import load_tokenizer
from sweeper.datasets.tokenizer import count_tokens, vocab_ids


def test_none_means_no_tokenizer() -> None:
    assert load_tokenizer(None) is None and load_tokenizer("") is None


def test_loads_a_local_folder(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    ids = tok.encode("the quick brown fox", add_special_tokens=False)
    assert 1 <= len(ids) <= 8
    assert tok.decode(ids) == "the quick brown fox"
    assert count_tokens(tok, "the quick brown fox") == len(ids)
    special = tok.convert_tokens_to_ids("<|eos|>")
    assert special not in vocab_ids(tok) and len(vocab_ids(tok)) == len(tok) - 1


def test_loads_a_bare_tokenizer_json(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir / "tokenizer.json"))
    assert tok.decode(tok.encode("lazy dog", add_special_tokens=False)) == "lazy dog"


def test_missing_folder_is_one_line_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^model\.tokenizer: ") as err:
        load_tokenizer(str(tmp_path / "nope"))
    assert "\n" not in str(err.value)


def test_estimate_without_tokenizer() -> None:
    assert count_tokens(None, "") == 0
    assert count_tokens(None, "abcdefgh") == 2
    assert count_tokens(None, "abcdefghi") == 3
