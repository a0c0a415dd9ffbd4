from __future__ import annotations

from pathlib import Path

import pytest

from instruments.errors import ConfigError
from sweeper.datasets import load_tokenizer, sample, validate
from sweeper.datasets.kinds.long_doc_qa import LongDocQADatasetConfig, ask_order


def cfg(**kw: object) -> LongDocQADatasetConfig:
    base = {"num_documents": 3, "document_len": 40, "question_len": 5, "output_len": 8}
    return LongDocQADatasetConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_orders() -> None:
    assert ask_order(cfg(order="tile"), 7) == [0, 1, 2, 0, 1, 2, 0]
    assert ask_order(cfg(order="interleave"), 7) == [0, 0, 0, 1, 1, 2, 2]
    shuffled = ask_order(cfg(order="random", seed=3), 9)
    assert sorted(shuffled) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert shuffled != [0, 1, 2] * 3
    assert shuffled == ask_order(cfg(order="random", seed=3), 9)


def test_documents_share_prefix_questions_differ() -> None:
    specs = sample(cfg(order="tile", repeat_count=2), 6, None)
    assert [s.labels["document"] for s in specs] == ["0", "1", "2", "0", "1", "2"]
    assert [s.labels["ask"] for s in specs] == ["0", "0", "0", "1", "1", "1"]
    doc0 = specs[0].prompt.split()[:40]
    assert specs[3].prompt.split()[:40] == doc0
    assert specs[1].prompt.split()[:40] != doc0
    assert specs[0].prompt != specs[3].prompt
    assert all(s.prompt_len == 45 and s.output_len == 8 for s in specs)


def test_exact_token_lengths_with_a_tokenizer(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    specs = sample(cfg(document_len=64, question_len=7), 4, tok)
    lens = [len(tok.encode(s.prompt, add_special_tokens=False)) for s in specs]
    assert lens == [71] * 4 == [s.prompt_len for s in specs]


@pytest.mark.parametrize(
    ("kw", "num", "key"),
    [
        ({"order": "zigzag"}, 3, "dataset.order"),
        ({"repeat_count": 2}, 5, "dataset.repeat_count"),
        ({"repeat_count": 0}, 3, "dataset.repeat_count"),
        ({"num_documents": 0}, 3, "dataset.num_documents"),
        ({"question_len": -1}, 3, "dataset.question_len"),
    ],
)
def test_bad_numbers_name_the_key(kw: dict, num: int, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        validate(cfg(**kw))
        sample(cfg(**kw), num, None)
