"""A tiny byte-level BPE tokenizer trained offline, saved as a transformers tokenizer folder."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "shall I compare thee to a summer's day thou art more lovely and more temperate",
    "rough winds do shake the darling buds of may and summer's lease hath all too short a date",
    "benchmarks measure time to first token and inter token latency under load",
] * 20


def build_tiny_tokenizer(folder: Path) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=["<|eos|>"])
    fast = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|eos|>")
    fast.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))
