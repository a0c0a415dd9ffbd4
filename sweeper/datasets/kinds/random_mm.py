"""`dataset=random_mm`: random-token text plus synthetic PNG images (data URLs in chat content
parts, so it needs `load=chat`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.images import data_url, mm_spec, random_png
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec

MAX_IMAGE_SIDE = 8192


@DATASET_KINDS.register("random_mm")
@dataclass
class RandomMMDatasetConfig(DatasetConfig):
    """Random-token text plus synthetic PNG images (data URLs in chat content parts).

    `image_sizes` lists [width, height] pairs; each image of a request takes one, cycling.
    The number of images per request is drawn uniformly from [min_images, max_images].
    """

    kind: str = option("random_mm", KIND_HELP)
    input_len: int = option(128, "text tokens", ge=1)
    output_len: int = option(64, "output tokens", ge=1)
    min_images: int = option(1, "fewest images of a request")
    max_images: int = option(1, "most images of a request")
    image_sizes: list[list[int]] = option(
        help="[width, height] pairs, cycled over a request's images",
        default_factory=lambda: [[64, 64]],
    )
    distinct_images: int = option(
        8, "distinct images generated per size (requests reuse them, as real traffic does)", ge=1
    )

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        self._check_images()
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        pool: dict[tuple[int, int], list[str]] = {}
        specs = []
        for i in range(num_prompts):
            count = int(rng.integers(self.min_images, self.max_images + 1))
            urls = []
            for k in range(count):
                w, h = (int(v) for v in self.image_sizes[(i + k) % len(self.image_sizes)])
                images = pool.setdefault((w, h), [])
                pick = int(rng.integers(self.distinct_images))
                while len(images) <= pick:
                    images.append(data_url(random_png(w, h, rng), "image/png"))
                urls.append(images[pick])
            text, n = maker.make(self.input_len)
            specs.append(mm_spec(text, n, self.output_len, urls, {"images": str(count)}))
        return specs

    def _check_images(self) -> None:
        if not 0 <= self.min_images <= self.max_images:
            raise ConfigError(
                f"dataset.min_images/max_images: need 0 <= min <= max, got "
                f"{self.min_images}/{self.max_images}"
            )
        if not self.image_sizes:
            raise ConfigError("dataset.image_sizes: empty; give [[width, height], ...]")
        for size in self.image_sizes:
            if len(size) != 2 or not all(1 <= int(v) <= MAX_IMAGE_SIDE for v in size):
                raise ConfigError(
                    f"dataset.image_sizes: {list(size)} is not [width, height] in "
                    f"1..{MAX_IMAGE_SIDE}"
                )
