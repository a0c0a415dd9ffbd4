"""Models generated locally on first use (`model.generate`), so no hub download is needed."""

from __future__ import annotations

import dataclasses

from instruments.errors import ConfigError
from launchers.config import ModelConfig

GENERATORS = ("tiny-random",)


def materialize(model: ModelConfig) -> ModelConfig:
    """`model` with `path`/`tokenizer` pointing at the generated folder when `model.generate`
    names a generator; otherwise `model` unchanged."""
    if model.generate is None:
        return model
    if model.generate == "tiny-random":
        from sweeper.models import tiny_random

        folder = str(tiny_random.ensure())
        return dataclasses.replace(model, path=folder, tokenizer=folder)
    raise ConfigError(
        f"model.generate: unknown generator {model.generate!r} (known: {', '.join(GENERATORS)})"
    )
