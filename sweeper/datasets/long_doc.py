"""Long-document QA: N documents asked M times each, in random, tile or interleave order
(the workload of vLLM's benchmark_long_document_qa_throughput, with a question per ask)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.feature_config import LongDocQADatasetConfig
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec

ORDERS = ("random", "tile", "interleave")


def ask_order(cfg: LongDocQADatasetConfig, num_prompts: int) -> list[int]:
    """Document index of each request, in sending order."""
    for key in ("num_documents", "document_len", "output_len"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"dataset.{key}: must be >= 1, got {getattr(cfg, key)}")
    if cfg.question_len < 0:
        raise ConfigError(f"dataset.question_len: must be >= 0, got {cfg.question_len}")
    if cfg.order not in ORDERS:
        raise ConfigError(f"dataset.order: {cfg.order!r} is not one of {', '.join(ORDERS)}")
    n = cfg.num_documents
    repeats = cfg.repeat_count
    if repeats is None:
        repeats = math.ceil(num_prompts / n)
    elif repeats < 1:
        raise ConfigError(f"dataset.repeat_count: must be >= 1 (or null), got {repeats}")
    elif n * repeats != num_prompts:
        raise ConfigError(
            f"dataset.repeat_count: {n} documents × {repeats} = {n * repeats} requests, but "
            f"num_prompts={num_prompts} (set num_prompts={n * repeats} or repeat_count=null)"
        )
    if cfg.order == "interleave":
        # as many asks of each document as fit: the first documents get one more if uneven
        counts = [num_prompts // n + (1 if d < num_prompts % n else 0) for d in range(n)]
        return [d for d in range(n) for _ in range(counts[d])]
    order = [i % n for i in range(n * repeats)][:num_prompts]
    if cfg.order == "random":
        rng = np.random.default_rng([cfg.seed, 1])
        order = [order[i] for i in rng.permutation(len(order))]
    return order


def check(cfg: LongDocQADatasetConfig) -> None:
    """The numbers alone (num_prompts is checked against repeat_count when sampling)."""
    ask_order(cfg, cfg.num_documents * cfg.repeat_count if cfg.repeat_count else 1)


def sample_long_doc_qa(
    cfg: LongDocQADatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    order = ask_order(cfg, num_prompts)
    rng = np.random.default_rng(cfg.seed)
    maker = PromptMaker(tokenizer, rng)
    docs = [maker.make(cfg.document_len)[0] for _ in range(cfg.num_documents)]
    asked = [0] * cfg.num_documents
    specs = []
    for doc in order:
        text, n = maker.make(cfg.document_len + cfg.question_len, docs[doc])
        specs.append(
            RequestSpec(
                prompt=text,
                prompt_len=n,
                output_len=cfg.output_len,
                labels={"document": str(doc), "ask": str(asked[doc])},
            )
        )
        asked[doc] += 1
    return specs
