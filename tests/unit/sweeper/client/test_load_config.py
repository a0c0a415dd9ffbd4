"""Every field of the load schema (and of the request decorators) carries its help."""

from __future__ import annotations

import dataclasses

import pytest

from instruments.errors import ConfigError
from instruments.options import HELP, field_help
from sweeper.client.config import GenerateProtocolConfig, LoadConfig
from sweeper.features.config import PriorityConfig, StructuredOutputConfig


@pytest.mark.parametrize(
    "schema", [LoadConfig, GenerateProtocolConfig, PriorityConfig, StructuredOutputConfig]
)
def test_every_field_has_help(schema: type) -> None:
    assert [f.name for f in dataclasses.fields(schema) if not f.metadata.get(HELP)] == []


def test_limits_show_in_the_help() -> None:
    workers = next(f for f in dataclasses.fields(LoadConfig) if f.name == "workers")
    assert field_help(workers).endswith("[>= 1]")


def test_validate_names_the_key() -> None:
    LoadConfig().validate()
    with pytest.raises(ConfigError, match=r"^load\.concurrency: must be >= 1 or null, got 0$"):
        LoadConfig(concurrency=0).validate()
