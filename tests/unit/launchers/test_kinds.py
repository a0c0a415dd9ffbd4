"""Server kinds are one registry: each kind is one module of `launchers.kinds` plus one YAML of
`conf/server/`, and everything else (schema, pool, checks, fingerprint) goes through it."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

import launchers.kinds
from instruments.errors import ConfigError
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds import check_server, server_kind, server_kinds
from launchers.kinds.base import SERVER_KINDS
from launchers.kinds.command import CommandServerConfig
from launchers.kinds.external import ExternalServerConfig
from launchers.kinds.sim import SimServerConfig
from launchers.kinds.vllm import VllmServerConfig
from launchers.pool import ServerPool, fingerprint
from sweeper.schema import CONF_DIR, register

MODEL = ModelConfig(name="toy")
YAML_KINDS = sorted(p.stem for p in (Path(CONF_DIR) / "server").glob("*.yaml"))


def test_every_server_yaml_has_a_registered_kind_and_every_kind_a_yaml() -> None:
    assert server_kinds().names() == YAML_KINDS
    register()
    stored = ConfigStore.instance().repo["schema"]["server"]
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        for name in YAML_KINDS:
            server = compose("config", overrides=[f"server={name}"]).server
            kind = server_kind(server.kind)
            assert server.kind == name == kind.name
            assert OmegaConf.get_type(server) is kind.config  # typed by the kind's schema
            assert f"{name}.yaml" in stored


def test_each_kind_names_itself_and_its_config_the_same() -> None:
    for name, kind in server_kinds().items():
        assert kind.name == name
        assert issubclass(kind.config, ServerConfig)
        assert kind.config().kind == name
        assert kind.__module__ == f"launchers.kinds.{name}"  # one module per kind
    assert [k for k, v in server_kinds().items() if v.simulated] == ["sim"]


def test_unknown_kind_is_one_line_naming_the_key_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        check_server(MODEL, ServerConfig(kind="nope"))
    assert str(err.value) == (
        "server.kind: unknown server kind 'nope' (one of command, external, sim, vllm)"
    )


@pytest.mark.parametrize(
    ("server", "says"),
    [
        (CommandServerConfig(argv=[]), "server.argv: empty; give the command as a list"),
        (SimServerConfig(fail_500_rate=1.5), "server.fail_500_rate: must be <= 1, got 1.5"),
        (SimServerConfig(max_num_seqs=0), "server.max_num_seqs: must be >= 1, got 0"),
        (SimServerConfig(step_overhead_ms=0.0), "server.step_overhead_ms: must be > 0, got 0.0"),
        (SimServerConfig(speculative_config={"x": 1}), "server.speculative_config: needs"),
        (SimServerConfig(cpus="0,x"), "server.cpus: not a CPU list"),
        (ExternalServerConfig(cpus="0"), "server.cpus: server=external runs where it was"),
        (ExternalServerConfig(ready_timeout_s=-1), "server.ready_timeout_s: must be > 0"),
        (VllmServerConfig(executable="no-such-python-xyz"), "server.executable: no-such-python"),
        (CommandServerConfig(argv=["x"], port=70000), "server.port: must be <= 65535"),
        (CommandServerConfig(argv=["x"], metrics_interval_s=-1), "server.metrics_interval_s"),
    ],
)
def test_checks_of_each_kind_name_the_key_in_one_line(server: ServerConfig, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_server(MODEL, server)
    assert str(err.value).startswith(says) and "\n" not in str(err.value)


def test_good_configs_pass_their_checks() -> None:
    check_server(MODEL, SimServerConfig(profile="fast", fail_500_rate=0.5, cpus="0"))
    # the simulator itself rejects an unknown profile (its log tail then says which exist)
    check_server(MODEL, SimServerConfig(profile="nosuch"))
    check_server(MODEL, CommandServerConfig(argv=["my-server"], port=0))
    check_server(MODEL, ExternalServerConfig())
    check_server(MODEL, VllmServerConfig(executable=sys.executable, scheduling_policy="priority"))


def test_fingerprint_counts_the_program_each_kind_runs_from() -> None:
    vllm = VllmServerConfig(executable=sys.executable)
    other_python = replace(vllm, executable="/no/such/venv/bin/python")
    assert fingerprint(MODEL, vllm) != fingerprint(MODEL, other_python)
    assert server_kind("sim").executable(SimServerConfig()) == sys.executable
    assert server_kind("command").executable(CommandServerConfig(argv=["x"])) is None
    assert server_kind("external").executable(ExternalServerConfig()) is None


def test_a_field_that_changes_the_launch_is_part_of_the_fingerprint() -> None:
    """vLLM is launched in dev mode only for the prefix-cache reset: a server started without
    it cannot serve a job that resets, so the two are different servers. The simulator
    resets either way: the same server."""
    vllm = VllmServerConfig(executable=sys.executable)
    assert fingerprint(MODEL, vllm) != fingerprint(MODEL, replace(vllm, reset_prefix_cache=False))
    sim = SimServerConfig()
    assert fingerprint(MODEL, sim) == fingerprint(MODEL, replace(sim, reset_prefix_cache=False))


def test_fingerprints_are_those_of_before_the_kinds_registry() -> None:
    """Job dirs and resume key on the fingerprint: moving the kinds must not change it (values
    computed before the move, with no interpreter path in them). vLLM's changed once on
    purpose: `reset_prefix_cache` decides its dev mode at launch, so it is part of what the
    server is (it was c5d0309c594ddde4)."""
    model = ModelConfig(name="m", path="/p", max_model_len=100)
    vllm = VllmServerConfig(executable="/opt/no-venv/bin/python")
    assert fingerprint(model, vllm) == "bde636783077edc4"
    assert fingerprint(model, CommandServerConfig(argv=["x", "{port}"])) == "a84aafe31add2984"
    assert fingerprint(model, ExternalServerConfig(base_url="http://h:1")) == "abf3e246cc4844ec"


DROPPED_KIND = '''
"""A kind that lives in this one module: the toy HTTP server of the process tests."""

import sys
from dataclasses import dataclass

from instruments.options import option
from launchers.config import ServerConfig
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind


@dataclass
class ToyServerConfig(ServerConfig):
    kind: str = option("toy", "the server kind")
    ready_timeout_s: float = option(30.0, "seconds to wait for the server", gt=0)


@SERVER_KINDS.register("toy")
class ToyKind(ServerKind[ToyServerConfig]):
    name = "toy"
    config = ToyServerConfig

    def plan(self, model, server, port, workdir):
        argv = [sys.executable, "-m", "tests.helpers.toy_server", str(port), "--model", model.name]
        return LaunchPlan(argv=argv, base_url=f"http://{server.host}:{port}")
'''


@pytest.fixture
def dropped_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ServerConfig]]:
    """A new module in the `launchers.kinds` package (its search path extended to a temp folder,
    the registry restored afterwards)."""
    (tmp_path / "toy.py").write_text(textwrap.dedent(DROPPED_KIND))
    monkeypatch.setattr(launchers.kinds, "__path__", [*launchers.kinds.__path__, str(tmp_path)])
    monkeypatch.setattr(SERVER_KINDS, "_entries", dict(SERVER_KINDS._entries))
    monkeypatch.setattr(SERVER_KINDS, "_packages", [])
    try:
        yield server_kinds().get("toy").config
    finally:
        sys.modules.pop("launchers.kinds.toy", None)


def test_a_kind_module_dropped_into_the_package_is_found_and_started(
    dropped_kind: type[ServerConfig], tmp_path: Path
) -> None:
    assert "toy" in server_kinds().names()
    server = dropped_kind()
    assert server.kind == "toy" and server_kind("toy").config is dropped_kind
    check_server(MODEL, server)
    pool = ServerPool()
    try:
        lease = pool.acquire(MODEL, server, tmp_path)
        assert lease.pid is not None and not lease.simulated and not lease.reused
        assert pool.acquire(MODEL, server, tmp_path).reused
    finally:
        pool.close()
