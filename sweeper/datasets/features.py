"""Feature-workload datasets: `random_mm` (synthetic images), `image_folder` (local images) and
`rerank` (a query and its documents). Images go as data URLs in chat content parts, so they
need `load=chat` (backend openai-chat)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.feature_config import (
    ImageFolderDatasetConfig,
    RandomMMDatasetConfig,
    RerankDatasetConfig,
)
from sweeper.datasets.images import MIME, data_url, folder_images, image_part, random_png
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec

MAX_IMAGE_SIDE = 8192


def _positive(cfg: Any, *keys: str) -> None:
    for key in keys:
        if getattr(cfg, key) < 1:
            raise ConfigError(f"dataset.{key}: must be >= 1, got {getattr(cfg, key)}")


def _mm_spec(
    text: str, n: int, output_len: int, urls: list[str], labels: dict[str, str]
) -> RequestSpec:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [image_part(u) for u in urls]
    return RequestSpec(
        prompt=text,
        prompt_len=n,
        output_len=output_len,
        messages=[{"role": "user", "content": content}],
        labels=labels,
    )


def sample_random_mm(
    cfg: RandomMMDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    _positive(cfg, "input_len", "output_len", "distinct_images")
    if not 0 <= cfg.min_images <= cfg.max_images:
        raise ConfigError(
            f"dataset.min_images/max_images: need 0 <= min <= max, got "
            f"{cfg.min_images}/{cfg.max_images}"
        )
    if not cfg.image_sizes:
        raise ConfigError("dataset.image_sizes: empty; give [[width, height], ...]")
    for size in cfg.image_sizes:
        if len(size) != 2 or not all(1 <= int(v) <= MAX_IMAGE_SIDE for v in size):
            raise ConfigError(
                f"dataset.image_sizes: {list(size)} is not [width, height] in 1..{MAX_IMAGE_SIDE}"
            )
    rng = np.random.default_rng(cfg.seed)
    maker = PromptMaker(tokenizer, rng)
    pool: dict[tuple[int, int], list[str]] = {}
    specs = []
    for i in range(num_prompts):
        count = int(rng.integers(cfg.min_images, cfg.max_images + 1))
        urls = []
        for k in range(count):
            w, h = (int(v) for v in cfg.image_sizes[(i + k) % len(cfg.image_sizes)])
            images = pool.setdefault((w, h), [])
            pick = int(rng.integers(cfg.distinct_images))
            while len(images) <= pick:
                images.append(data_url(random_png(w, h, rng), "image/png"))
            urls.append(images[pick])
        text, n = maker.make(cfg.input_len)
        specs.append(_mm_spec(text, n, cfg.output_len, urls, {"images": str(count)}))
    return specs


def check_folder(cfg: ImageFolderDatasetConfig) -> None:
    folder = Path(cfg.path).expanduser()
    if not cfg.path or not folder.is_dir():
        raise ConfigError(f"dataset.path: {cfg.path!r} is not a folder")
    if not folder_images(folder):
        raise ConfigError(f"dataset.path: no images ({', '.join(MIME)}) in {folder}")
    _positive(cfg, "input_len", "output_len", "images_per_request")


def sample_folder(
    cfg: ImageFolderDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    check_folder(cfg)
    files = folder_images(Path(cfg.path).expanduser())
    rng = np.random.default_rng(cfg.seed)
    maker = PromptMaker(tokenizer, rng)
    urls: dict[int, str] = {}
    specs = []
    for _ in range(num_prompts):
        picks = rng.integers(len(files), size=cfg.images_per_request).tolist()
        for p in picks:
            if p not in urls:
                urls[p] = data_url(files[p].read_bytes(), MIME[files[p].suffix.lower()])
        text, n = maker.make(cfg.input_len)
        names = ",".join(files[p].name for p in picks)
        specs.append(_mm_spec(text, n, cfg.output_len, [urls[p] for p in picks], {"images": names}))
    return specs


def sample_rerank(
    cfg: RerankDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    """The query is the prompt; the documents ride in `extra_body` (rerank/score bodies)."""
    _positive(cfg, "query_len", "num_documents", "document_len")
    rng = np.random.default_rng(cfg.seed)
    maker = PromptMaker(tokenizer, rng)
    specs = []
    for _ in range(num_prompts):
        query, n = maker.make(cfg.query_len)
        docs = [maker.make(cfg.document_len) for _ in range(cfg.num_documents)]
        specs.append(
            RequestSpec(
                prompt=query,
                prompt_len=n + sum(k for _, k in docs),
                output_len=None,
                extra_body={"documents": [d for d, _ in docs]},
                labels={"documents": str(cfg.num_documents)},
            )
        )
    return specs
