from __future__ import annotations

from pathlib import Path

import pytest

from instruments.errors import ConfigError
from sweeper.datasets import load_tokenizer, sample, validate
from sweeper.datasets.kinds.prefix_repetition import PrefixRepetitionDatasetConfig
from sweeper.datasets.kinds.random import RandomDatasetConfig


def test_random_is_token_exact_with_a_tokenizer(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    cfg = RandomDatasetConfig(input_len=64, output_len=16, seed=1)
    specs = sample(cfg, 20, tok)
    assert len(specs) == 20
    exact = [len(tok.encode(s.prompt, add_special_tokens=False)) for s in specs]
    assert exact == [s.prompt_len for s in specs]
    # the tokenizer round trip may make a few prompts miss by a token, not more
    assert sum(n == 64 for n in exact) >= 18 and all(abs(n - 64) <= 1 for n in exact)
    assert all(s.output_len == 16 for s in specs)


def test_random_is_deterministic_for_a_seed(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    cfg = RandomDatasetConfig(input_len=32, output_len=8, range_ratio=0.5, seed=5)
    a, b = sample(cfg, 10, tok), sample(cfg, 10, tok)
    assert [s.prompt for s in a] == [s.prompt for s in b]
    other = sample(
        RandomDatasetConfig(input_len=32, output_len=8, range_ratio=0.5, seed=6), 10, tok
    )
    assert [s.prompt for s in a] != [s.prompt for s in other]


def test_range_ratio_bounds_lengths() -> None:
    cfg = RandomDatasetConfig(input_len=100, output_len=50, range_ratio=0.2, seed=0)
    specs = sample(cfg, 200, None)
    assert all(80 <= s.prompt_len <= 120 for s in specs)
    assert all(40 <= (s.output_len or 0) <= 60 for s in specs)
    assert len({s.output_len for s in specs}) > 5


def test_estimate_without_tokenizer_counts_words() -> None:
    specs = sample(RandomDatasetConfig(input_len=30, output_len=4), 3, None)
    assert all(len(s.prompt.split()) == 30 == s.prompt_len for s in specs)


def test_shared_prefix(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    cfg = RandomDatasetConfig(input_len=20, output_len=4, prefix_len=30, seed=2)
    specs = sample(cfg, 5, tok)
    heads = {tuple(tok.encode(s.prompt, add_special_tokens=False)[:28]) for s in specs}
    assert len(heads) == 1
    assert all(abs(s.prompt_len - 50) <= 1 for s in specs)


def test_prefix_repetition_groups() -> None:
    cfg = PrefixRepetitionDatasetConfig(prefix_len=10, suffix_len=5, num_prefixes=3, output_len=7)
    specs = sample(cfg, 12, None)
    groups: dict[str, set[str]] = {}
    for s in specs:
        groups.setdefault(s.labels["prefix"], set()).add(" ".join(s.prompt.split()[:10]))
    assert len(groups) == 3 and all(len(heads) == 1 for heads in groups.values())
    assert all(s.prompt_len == 15 and s.output_len == 7 for s in specs)


def test_bad_numbers_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="range_ratio"):
        validate(RandomDatasetConfig(range_ratio=1.5))
    with pytest.raises(ConfigError, match="num_prefixes"):
        validate(PrefixRepetitionDatasetConfig(num_prefixes=0))
    with pytest.raises(ConfigError, match="num_prompts"):
        sample(RandomDatasetConfig(), 0, None)
