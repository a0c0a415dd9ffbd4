"""`dataset=long_doc_qa`: N documents asked M times each, in random, tile or interleave order
(the workload of vLLM's benchmark_long_document_qa_throughput, with a question per ask)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec

ORDERS = ("random", "tile", "interleave")


@DATASET_KINDS.register("long_doc_qa")
@dataclass
class LongDocQADatasetConfig(DatasetConfig):
    """`num_documents` documents of `document_len` random tokens, each asked `repeat_count` times
    (the document, then a fresh question of `question_len` tokens): the prefix-caching workload.

    order: `random` (seeded shuffle), `tile` (d1 d2 … dN d1 d2 …) or `interleave`
    (d1 d1 … d2 d2 …). `repeat_count: null` = as many rounds as fill `num_prompts`; a set value
    must give exactly num_prompts = num_documents × repeat_count.
    """

    kind: str = option("long_doc_qa", KIND_HELP)
    num_documents: int = option(4, "distinct documents", ge=1)
    document_len: int = option(1024, "tokens of each document", ge=1)
    repeat_count: int | None = option(
        None, "asks of each document; null = as many rounds as fill num_prompts"
    )
    question_len: int = option(16, "tokens of the fresh question after the document", ge=0)
    output_len: int = option(32, "output tokens", ge=1)
    order: str = option("random", "sending order: random | tile | interleave")

    def check(self) -> None:
        """The numbers alone (num_prompts is checked against repeat_count when sampling)."""
        ask_order(self, self.num_documents * self.repeat_count if self.repeat_count else 1)

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        order = ask_order(self, num_prompts)
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        docs = [maker.make(self.document_len)[0] for _ in range(self.num_documents)]
        asked = [0] * self.num_documents
        specs = []
        for doc in order:
            text, n = maker.make(self.document_len + self.question_len, docs[doc])
            specs.append(
                RequestSpec(
                    prompt=text,
                    prompt_len=n,
                    output_len=self.output_len,
                    labels={"document": str(doc), "ask": str(asked[doc])},
                )
            )
            asked[doc] += 1
        return specs


def _repeats(cfg: LongDocQADatasetConfig, num_prompts: int) -> int:
    """Asks of each document: repeat_count, or as many rounds as fill num_prompts."""
    n, repeats = cfg.num_documents, cfg.repeat_count
    if repeats is None:
        return math.ceil(num_prompts / n)
    if repeats < 1:
        raise ConfigError(f"dataset.repeat_count: must be >= 1 (or null), got {repeats}")
    if n * repeats != num_prompts:
        raise ConfigError(
            f"dataset.repeat_count: {n} documents × {repeats} = {n * repeats} requests, but "
            f"num_prompts={num_prompts} (set num_prompts={n * repeats} or repeat_count=null)"
        )
    return repeats


def ask_order(cfg: LongDocQADatasetConfig, num_prompts: int) -> list[int]:
    """Document index of each request, in sending order (the schema's limits are checked
    first, by `DatasetConfig.check_schema`)."""
    if cfg.order not in ORDERS:
        raise ConfigError(f"dataset.order: {cfg.order!r} is not one of {', '.join(ORDERS)}")
    n = cfg.num_documents
    repeats = _repeats(cfg, num_prompts)
    if cfg.order == "interleave":
        # as many asks of each document as fit: the first documents get one more if uneven
        counts = [num_prompts // n + (1 if d < num_prompts % n else 0) for d in range(n)]
        return [d for d in range(n) for _ in range(counts[d])]
    order = [i % n for i in range(n * repeats)][:num_prompts]
    if cfg.order == "random":
        rng = np.random.default_rng([cfg.seed, 1])
        order = [order[i] for i in rng.permutation(len(order))]
    return order
