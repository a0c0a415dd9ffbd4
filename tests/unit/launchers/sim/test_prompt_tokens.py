"""Prompt token counts: the documented estimate and a local tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchers.sim.prompt_tokens import PromptTokenizer, chat_prompt_text, estimate_len


@pytest.mark.parametrize(
    ("text", "tokens"),
    [(" hello world", 2), ("internationalization", 3), ("a, b.", 4), ("", 0), ("  \n", 0)],
)
def test_estimate_matches_its_documentation(text: str, tokens: int) -> None:
    assert estimate_len(text) == tokens


def test_estimate_is_deterministic_per_content() -> None:
    tok = PromptTokenizer()
    assert tok.keys("w1 w2 w3") == tok.keys("w1 w2 w3")
    assert tok.keys("w1 w2 w3") != tok.keys("w1 w2 w4")
    assert not tok.exact


def test_chat_text_joins_contents() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi there"},
                {"type": "image_url", "image_url": {"url": "x"}},
            ],
        },
    ]
    assert chat_prompt_text(messages) == "be brief\nhi there"


def test_local_tokenizer_folder(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tk.save(str(tmp_path / "tokenizer.json"))
    tok = PromptTokenizer(str(tmp_path))
    assert tok.exact
    assert tok.keys("hello world foo") == [1, 2, 0]


def test_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--tokenizer: ") as err:
        PromptTokenizer(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"^--tokenizer: no tokenizer\.json"):
        PromptTokenizer(str(tmp_path / "missing"))
