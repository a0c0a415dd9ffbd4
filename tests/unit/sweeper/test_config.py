"""Every option of every config group composes into a typed RunSpec; bad keys fail by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from instruments.errors import ConfigError
from sweeper.schema import CONF_DIR, RunSpec, register

# the schemas the YAML options start from (the CLI registers them at import; run alone, this
# module must too)
register()

GROUPS = ("model", "server", "dataset", "load", "tracking")
# options that need a value only the user can give
REQUIRED = {
    ("server", "external"): ["server.base_url=http://127.0.0.1:8000"],
    ("server", "command"): ["server.argv=[my-server,--port,'{port}']"],
}


def options() -> Iterator[tuple[str, str]]:
    for group in GROUPS:
        for path in sorted((Path(CONF_DIR) / group).glob("*.yaml")):
            yield group, path.stem


def compose_spec(overrides: list[str]) -> RunSpec:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]


@pytest.mark.parametrize(("group", "option"), list(options()))
def test_every_option_composes(group: str, option: str) -> None:
    spec = compose_spec([f"{group}={option}", *REQUIRED.get((group, option), [])])
    assert isinstance(spec, RunSpec)
    node = getattr(spec, group)
    assert type(node).__name__.endswith("Config")


def test_top_level_keys_reach_the_groups() -> None:
    spec = compose_spec(["concurrency=32", "num_prompts=7", "seed=3", "request_rate=inf"])
    assert spec.load.concurrency == 32 and spec.load.num_prompts == 7 and spec.load.seed == 3
    assert spec.load.request_rate == float("inf")


@pytest.mark.parametrize(
    ("override", "key"),
    [("concurrency=abc", "concurrency"), ("server.max_num_seqs=lots", "max_num_seqs"),
     ("server.no_such_key=1", "no_such_key"), ("slo.ttft=5", "ttft")],
)  # fmt: skip
def test_bad_override_names_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigCompositionException) as err:
        compose_spec([override])
    assert key in str(err.value) + str(err.value.__cause__)


def test_each_repeat_gets_its_own_recorded_seed() -> None:
    spec = compose_spec(["seed=5", "repeat=2"])
    assert spec.load.seed == 7 and spec.dataset.seed == 7


@pytest.mark.parametrize(
    ("overrides", "says"),
    [(["server.cpus=0-x"], "server.cpus: not a CPU list"),
     (["server.cpus=4095"], "server.cpus: no CPU [4095]"),
     (["server=external", "server.cpus=0"], "server.cpus: server=external")],
)  # fmt: skip
def test_server_cpus_checked_before_the_sweep_starts_anything(
    overrides: list[str], says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        compose_spec(overrides).validate()
    assert str(err.value).startswith(says) and "\n" not in str(err.value)
    compose_spec(["server.cpus=0"]).validate()  # a CPU that is there passes


@pytest.mark.parametrize(
    ("overrides", "says"),
    [(["+load.nosuch=1"], "load.nosuch: unknown key (known here: concurrency,"),
     (["objective=goodness"], "objective: 'goodness' is not a result key"),
     (["percentiles=[50,0]"], "percentiles: 0.0 is not in (0, 100]"),
     (["slo.ttft_ms=-1"], "slo.ttft_ms: must be a positive number of milliseconds, got -1.0"),
     (["slo.e2el_ms=inf"], "slo.e2el_ms: must be a positive number of milliseconds, got inf"),
     (["concurrency=0"], "load.concurrency: must be >= 1 or null, got 0"),
     (["gpus_per_job=-1"], "gpus_per_job: must be >= 0, got -1")],
)  # fmt: skip
def test_run_spec_validate_names_the_key(overrides: list[str], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        compose_spec(overrides).validate()
    assert str(err.value).startswith(says) and "\n" not in str(err.value)


def test_valid_spec_passes() -> None:
    spec = compose_spec(["objective=p99_ttft_ms", "slo.ttft_ms=200", "percentiles=[50,99.9]"])
    spec.validate()
