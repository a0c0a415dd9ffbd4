"""Schemas of the feature-workload dataset kinds (issue 9): long-document QA, synthetic and
folder images (multimodal), rerank queries. Registered in `sweeper.datasets.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sweeper.datasets.config import DatasetConfig


@dataclass
class LongDocQADatasetConfig(DatasetConfig):
    """`num_documents` documents of `document_len` random tokens, each asked `repeat_count` times
    (the document, then a fresh question of `question_len` tokens): the prefix-caching workload.

    order: `random` (seeded shuffle), `tile` (d1 d2 … dN d1 d2 …) or `interleave`
    (d1 d1 … d2 d2 …). `repeat_count: null` = as many rounds as fill `num_prompts`; a set value
    must give exactly num_prompts = num_documents × repeat_count.
    """

    kind: str = "long_doc_qa"
    num_documents: int = 4
    document_len: int = 1024
    repeat_count: int | None = None
    question_len: int = 16
    output_len: int = 32
    order: str = "random"


@dataclass
class RandomMMDatasetConfig(DatasetConfig):
    """Random-token text plus synthetic PNG images (data URLs in chat content parts).

    `image_sizes` lists [width, height] pairs; each image of a request takes one, cycling.
    The number of images per request is drawn uniformly from [min_images, max_images].
    """

    kind: str = "random_mm"
    input_len: int = 128
    output_len: int = 64
    min_images: int = 1
    max_images: int = 1
    image_sizes: list[list[int]] = field(default_factory=lambda: [[64, 64]])
    # distinct images generated per size (requests reuse them, as real traffic reuses images)
    distinct_images: int = 8


@dataclass
class ImageFolderDatasetConfig(DatasetConfig):
    """Images from a local folder (png, jpg/jpeg, webp, gif) sent with random-token text."""

    kind: str = "image_folder"
    path: str = ""
    input_len: int = 128
    output_len: int = 64
    images_per_request: int = 1


@dataclass
class RerankDatasetConfig(DatasetConfig):
    """Rerank / score inputs: a query of `query_len` tokens and `num_documents` documents of
    `document_len` tokens each (sent as the body's `documents`; embeddings send the query)."""

    kind: str = "rerank"
    query_len: int = 32
    num_documents: int = 8
    document_len: int = 128
