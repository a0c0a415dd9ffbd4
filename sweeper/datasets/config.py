"""Schemas of the `dataset` config group, one dataclass per dataset kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DatasetConfig:
    kind: str = "random"
    seed: int = 0


@dataclass
class RandomDatasetConfig(DatasetConfig):
    kind: str = "random"
    input_len: int = 256
    output_len: int = 128
    # lengths drawn uniformly from [len * (1 - r), len * (1 + r)]
    range_ratio: float = 0.0
    # tokens of a prefix shared by every prompt
    prefix_len: int = 0
