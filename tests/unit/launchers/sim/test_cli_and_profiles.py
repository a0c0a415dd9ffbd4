"""The command line mirrors SimParams; SimServerConfig's fields all reach it."""

from __future__ import annotations

from dataclasses import fields

import pytest

from launchers.config import ServerConfig
from launchers.kinds.sim import SimServerConfig
from launchers.sim.cli import FIXED_OPTIONS, main, parse
from launchers.sim.profiles import DEFAULT, FAST, param_fields


def launcher_argv(cfg: SimServerConfig) -> list[str]:
    """What the sim launcher passes: every non-base, non-None field as --name VALUE."""
    base = {f.name for f in fields(ServerConfig)}
    argv: list[str] = []
    for f in fields(SimServerConfig):
        value = getattr(cfg, f.name)
        if f.name in base or f.name in ("args", "speculative_config") or value is None:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + f.name.replace("_", "-"))
        else:
            argv += [flag, str(value)]
    return argv


def test_every_sim_server_config_field_is_an_option_of_the_same_type() -> None:
    base = {f.name for f in fields(ServerConfig)}
    known = param_fields()
    for f in fields(SimServerConfig):
        if f.name in base or f.name in ("args", "speculative_config", *FIXED_OPTIONS):
            continue
        assert f.name in known, f"SimServerConfig.{f.name} has no simulator option"
        assert str(f.type).startswith(known[f.name].__name__), (f.name, f.type)


def test_config_values_reach_the_parameters() -> None:
    cfg = SimServerConfig(
        profile="fast",
        max_num_seqs=7,
        max_num_batched_tokens=64,
        enable_prefix_caching=False,
        jitter=0.1,
        fail_429_rate=0.25,
        scheduling_policy="priority",
        output_token_text=" x",
    )
    _, params = parse(launcher_argv(cfg))
    assert params.max_num_seqs == 7 and params.max_num_batched_tokens == 64
    assert params.enable_prefix_caching is False and params.jitter == 0.1
    assert params.fail_429_rate == 0.25 and params.scheduling_policy == "priority"
    assert params.output_token_text == " x"
    assert params.step_overhead_ms == FAST.step_overhead_ms  # untouched: the profile's


def test_profiles_differ_only_in_clock_and_pool() -> None:
    assert FAST.max_num_seqs == DEFAULT.max_num_seqs
    assert FAST.step_overhead_ms < DEFAULT.step_overhead_ms


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--profile", "nope"], "--profile"),
        (["--max-num-seqs", "0"], "--max-num-seqs"),
        (["--fail-500-rate", "1.5"], "--fail-500-rate"),
        (["--max-num-seqs", "x"], "--max-num-seqs"),
        (["--max-model-len", "999999"], "--max-model-len"),
        (["--bogus", "1"], "--bogus"),
        (["--log-level", "loud"], "--log-level"),
        (["--cpus", "0,x"], "--cpus"),
        (["--cpus", ""], "--cpus"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert needle in last


def test_cpus_option_is_a_cpu_set() -> None:
    # standalone use; under sweeper, server.cpus pins the process itself (launchers.process)
    assert parse(["--cpus", "0,2-3"])[0].cpus == {0, 2, 3}
    assert parse([])[0].cpus is None
    assert "--cpus" not in launcher_argv(SimServerConfig(cpus="0"))


def test_a_cpu_that_is_not_there_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--cpus", "4095"])
    assert exit_info.value.code == 2
    assert "--cpus [4095]" in capsys.readouterr().err.strip().splitlines()[-1]
