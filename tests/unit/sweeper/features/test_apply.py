from __future__ import annotations

import json

import pytest

from instruments.errors import ConfigError
from launchers.kinds.external import ExternalServerConfig
from launchers.kinds.sim import SimServerConfig
from launchers.kinds.vllm import VllmServerConfig
from sweeper.datasets.kinds.random import RandomDatasetConfig
from sweeper.features.apply import decorate
from sweeper.features.structured import constraint_of
from sweeper.records import RequestSpec


def specs(n: int = 10) -> list[RequestSpec]:
    return [RequestSpec(prompt=f"p{i} a b", prompt_len=3, output_len=4) for i in range(n)]


def dataset(**kw: object) -> RandomDatasetConfig:
    cfg = RandomDatasetConfig(seed=5)
    for key, value in kw.items():
        section, field = key.split("__")
        setattr(getattr(cfg, section), field, value)
    return cfg


def test_off_by_default_leaves_requests_alone() -> None:
    out = decorate(RandomDatasetConfig(), specs(), SimServerConfig())
    assert all(not s.labels and not s.extra_body for s in out)


@pytest.mark.parametrize(
    ("server", "sent"),
    [
        (SimServerConfig(scheduling_policy="priority"), True),
        (SimServerConfig(scheduling_policy="fcfs"), False),
        (SimServerConfig(), False),
        (VllmServerConfig(scheduling_policy="priority"), True),
        (VllmServerConfig(), False),
        (ExternalServerConfig(), True),
    ],
)
def test_priority_classes_and_when_the_field_is_sent(server: object, sent: bool) -> None:
    out = decorate(dataset(priority__high_share=0.3), specs(), server)
    classes = [s.labels["priority_class"] for s in out]
    assert classes.count("high") == 3 and classes.count("low") == 7
    if sent:
        assert [s.extra_body["priority"] for s in out] == [0 if c == "high" else 1 for c in classes]
    else:
        assert all("priority" not in s.extra_body for s in out)


def test_priority_send_override_and_bad_values() -> None:
    out = decorate(
        dataset(priority__high_share=0.5, priority__send=True), specs(), SimServerConfig()
    )
    assert all("priority" in s.extra_body for s in out)
    with pytest.raises(ConfigError, match=r"dataset\.priority\.high_share"):
        decorate(dataset(priority__high_share=1.5), specs(), SimServerConfig())
    with pytest.raises(ConfigError, match=r"dataset\.priority\.high:"):
        decorate(dataset(priority__high_share=0.5, priority__high=2), specs(), SimServerConfig())


@pytest.mark.parametrize("api", ["structured_outputs", "guided", "response_format"])
def test_structured_ratio_and_body_round_trip(api: str) -> None:
    out = decorate(dataset(structured_output__ratio=0.4, structured_output__api=api), specs(), None)
    on = [s for s in out if s.labels["structured_output"] == "json_schema"]
    assert len(on) == 4
    assert sum(s.labels["structured_output"] == "none" for s in out) == 6
    for s in on:
        c = constraint_of(json.loads(json.dumps(s.extra_body)))
        assert c is not None and c.kind == "json_schema"
        assert s.prompt.startswith("Answer with one JSON object") and s.prompt_len > 3
    assert all(constraint_of(s.extra_body) is None for s in out if s not in on)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"structured_output__ratio": 2.0}, "ratio"),
        ({"structured_output__ratio": 0.5, "structured_output__kind": "xml"}, "kind"),
        ({"structured_output__ratio": 0.5, "structured_output__api": "magic"}, "api"),
        ({"structured_output__kind": "regex", "structured_output__api": "response_format"}, "api"),
        ({"structured_output__kind": "regex", "structured_output__regex": "a("}, "regex"),
        ({"structured_output__json_schema": {"type": 5}}, "json_schema"),
        ({"structured_output__kind": "choice", "structured_output__choices": []}, "choices"),
    ],
)
def test_bad_structured_config_names_the_key(kw: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"dataset.structured_output.{key}"):
        decorate(dataset(**kw), specs(), None)
