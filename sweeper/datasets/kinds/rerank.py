"""`dataset=rerank`: rerank / score inputs, a query and its documents (with load=rerank;
load=embeddings embeds the query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec


@DATASET_KINDS.register("rerank")
@dataclass
class RerankDatasetConfig(DatasetConfig):
    """Rerank / score inputs: a query of `query_len` tokens and `num_documents` documents of
    `document_len` tokens each (sent as the body's `documents`; embeddings send the query)."""

    kind: str = option("rerank", KIND_HELP)
    query_len: int = option(32, "tokens of the query", ge=1)
    num_documents: int = option(8, "documents of each request", ge=1)
    document_len: int = option(128, "tokens of each document", ge=1)

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        """The query is the prompt; the documents ride in `extra_body` (rerank/score bodies)."""
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        specs = []
        for _ in range(num_prompts):
            query, n = maker.make(self.query_len)
            docs = [maker.make(self.document_len) for _ in range(self.num_documents)]
            specs.append(
                RequestSpec(
                    prompt=query,
                    prompt_len=n + sum(k for _, k in docs),
                    output_len=None,
                    extra_body={"documents": [d for d, _ in docs]},
                    labels={"documents": str(self.num_documents)},
                )
            )
        return specs
