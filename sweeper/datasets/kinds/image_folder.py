"""`dataset=image_folder`: images from a local folder sent with random-token text (chat
content parts, so it needs `load=chat`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.images import MIME, data_url, folder_images, mm_spec
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import RequestSpec


@DATASET_KINDS.register("image_folder")
@dataclass
class ImageFolderDatasetConfig(DatasetConfig):
    """Images from a local folder (png, jpg/jpeg, webp, gif) sent with random-token text."""

    kind: str = option("image_folder", KIND_HELP)
    path: str = option("", "the folder of images")
    input_len: int = option(128, "text tokens", ge=1)
    output_len: int = option(64, "output tokens", ge=1)
    images_per_request: int = option(1, "images of each request (a seeded pick)", ge=1)

    def check(self) -> None:
        folder = Path(self.path).expanduser()
        if not self.path or not folder.is_dir():
            raise ConfigError(f"dataset.path: {self.path!r} is not a folder")
        if not folder_images(folder):
            raise ConfigError(f"dataset.path: no images ({', '.join(MIME)}) in {folder}")

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        self.check()
        files = folder_images(Path(self.path).expanduser())
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        urls: dict[int, str] = {}
        specs = []
        for _ in range(num_prompts):
            picks = rng.integers(len(files), size=self.images_per_request).tolist()
            for p in picks:
                if p not in urls:
                    urls[p] = data_url(files[p].read_bytes(), MIME[files[p].suffix.lower()])
            text, n = maker.make(self.input_len)
            names = ",".join(files[p].name for p in picks)
            picked = [urls[p] for p in picks]
            specs.append(mm_spec(text, n, self.output_len, picked, {"images": names}))
        return specs
