"""The dataset kinds registry: one module of sweeper.datasets.kinds and one conf/dataset YAML
per kind, no more, no less."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from instruments.errors import ConfigError
from instruments.options import HELP
from sweeper.datasets import DATASET_KINDS, DatasetConfig, sample
from sweeper.datasets.kinds.random import RandomDatasetConfig

CONF = Path(__file__).resolve().parents[4] / "conf" / "dataset"


def test_every_dataset_yaml_is_a_registered_kind_and_vice_versa() -> None:
    yamls = {p.stem: OmegaConf.load(p) for p in CONF.glob("*.yaml")}
    assert set(yamls) == set(DATASET_KINDS.names())
    for kind, node in yamls.items():
        assert f"/schema/dataset/{kind}@_here_" in node["defaults"], kind


@pytest.mark.parametrize("kind", DATASET_KINDS.names())
def test_each_kind_is_its_own_schema_with_help(kind: str) -> None:
    schema = DATASET_KINDS.get(kind)
    assert issubclass(schema, DatasetConfig) and schema().kind == kind
    assert schema.__module__ == f"sweeper.datasets.kinds.{kind}"
    undocumented = [f.name for f in dataclasses.fields(schema) if not f.metadata.get(HELP)]
    assert undocumented == [], (kind, undocumented)


def test_validate_is_a_method_of_the_schema() -> None:
    RandomDatasetConfig().validate()
    with pytest.raises(ConfigError, match=r"^dataset\.kind: unknown kind 'nope' \(one of "):
        DatasetConfig(kind="nope").validate()
    with pytest.raises(ConfigError, match=r"^dataset\.input_len: must be >= 0, got -1$"):
        RandomDatasetConfig(input_len=-1).validate()
    with pytest.raises(ConfigError, match=r"^dataset\.input_len: must be >= 0, got -1$"):
        sample(RandomDatasetConfig(input_len=-1), 2, None)
