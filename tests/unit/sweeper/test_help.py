"""`python -m sweeper --help [GROUP]`: built from the schemas' field help; the schema nodes stay
out of every option listing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import MissingConfigException

from instruments.errors import ConfigError
from sweeper.help import render_help
from sweeper.schema import CONF_DIR, SCHEMA_GROUP, register, schema_path

REPO = os.path.dirname(CONF_DIR)
register()


def test_overview_lists_groups_options_top_level_keys_and_examples() -> None:
    text = render_help(["--help"])
    assert "  server: command, external, sim, vllm" in text
    assert "  tracking: mlflow, none" in text
    assert "experiment (add one: +experiment=NAME): agentic, multi_turn, multimodal," in text
    # a top-level key: its value and its help on one line
    assert "  concurrency = 1" in text and "requests in flight (closed loop); null = no cap" in text
    assert "gpus_per_job = 0" in text and "[>= 0]" in text
    assert "Keys without options: slo, report" in text
    assert "python -m sweeper -m concurrency=1,8,32" in text and "--hydra-help" in text


def test_no_schema_node_is_listed_as_an_option() -> None:
    text = render_help(["--help"])
    listing = text[text.index("Config groups") : text.index("Top-level keys")]
    assert "base_" not in listing and SCHEMA_GROUP not in listing


def test_group_help_shows_type_value_and_help_of_the_selected_option() -> None:
    text = render_help(["server=vllm", "--help", "server"])
    assert text.startswith("server=vllm (VllmServerConfig):")
    # the option's YAML header comment: what it is, examples
    assert "  # Real vLLM" in text
    assert "  server.executable: str = ${oc.env:SWEEPER_VLLM_PYTHON,.venv-vllm/bin/python}" in text
    assert "server.base_url" not in text  # another kind's key


def test_group_help_follows_the_overrides() -> None:
    text = render_help(["--help", "server", "server=external", "server.base_url=http://h:1"])
    assert text.startswith("server=external (ExternalServerConfig):")
    assert "  server.base_url: str = http://h:1" in text


def test_help_and_limits_of_a_few_keys() -> None:
    text = render_help(["--help", "tracking", "slo", "report"])
    assert "  tracking.timeout_s: float = 10.0\n      seconds an MLflow call may take" in text
    assert (
        "  slo.ttft_ms: float | None = null\n      bound on time to first token (ms) [> 0]" in text
    )
    assert "  report.enabled: bool = true\n      at the end of each multirun" in text


def test_nested_nodes_are_flattened_to_the_keys_one_overrides() -> None:
    text = render_help(["--help", "dataset"])
    assert text.startswith("dataset=random (RandomDatasetConfig):")
    assert "  dataset.priority.high_share: float = 0.0" in text
    assert "  dataset.seed: int = ${run_seed}" in text  # interpolations as written


def test_overlay_groups_list_their_options_with_what_they_do() -> None:
    text = render_help(["--help", "speculative"])
    assert text.splitlines()[0] == "speculative (add one: +speculative=NAME):"
    assert "ngram3  n-gram (prompt lookup) speculative decoding with 3 draft tokens" in text


def test_all_shows_every_group() -> None:
    text = render_help(["--help", "all"])
    titles = ["model=sim (", "server=sim (", "dataset=random (", "load=default ("]
    titles += ["tracking=mlflow (", "slo (", "report (", "experiment (", "speculative ("]
    for title in titles:
        assert f"\n{title}" in f"\n{text}", title


def test_unknown_group_names_the_groups() -> None:
    with pytest.raises(ConfigError, match=r"--help nope: no such group or key \(groups: dataset, "):
        render_help(["--help", "nope"])
    with pytest.raises(ConfigError, match=r"--help load.nope: no such group or key"):
        render_help(["--help", "load.nope"])


def test_a_dotted_key_shows_that_key_or_the_keys_under_it() -> None:
    text = render_help(["--help", "server.cpus", "dataset.priority"])
    assert "  server.cpus: str | None = null" in text and "server.port" not in text
    assert "  dataset.priority.high: int = 0" in text and "dataset.seed" not in text


def test_a_swept_override_is_left_out() -> None:
    text = render_help(["-m", "concurrency=1,8", "server=vllm", "--help", "load"])
    assert text.startswith("load=default (LoadConfig)")
    assert "  load.concurrency: int | None = ${concurrency}" in text


def test_schemas_live_in_their_own_group() -> None:
    assert schema_path("server", "sim") == "schema/server/sim"
    assert schema_path("load") == "schema/load"
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        assert loader.get_group_options("server") == ["command", "external", "sim", "vllm"]
        assert "sim" in loader.get_group_options("schema/server")
        assert "random" in loader.get_group_options("dataset")
        assert not [o for o in loader.get_group_options("dataset") if o.startswith("base_")]


def test_a_bad_option_lists_the_options_without_schema_nodes() -> None:
    from sweeper.cli import one_line

    with (
        initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"),
        pytest.raises(MissingConfigException) as err,
    ):
        compose(config_name="config", overrides=["dataset=nope"])
    line = one_line(err.value)
    head = "In 'config': Could not find 'dataset/nope' (options: agentic, burstgpt, "
    assert line.startswith(head)
    assert "random, random_mm" in line and "base_" not in line and "schema" not in line


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_help_and_its_errors() -> None:
    ok = run_cli("server=vllm", "--help", "server")
    assert ok.returncode == 0 and ok.stdout.startswith("server=vllm (VllmServerConfig):")
    bad = run_cli("--help", "nope")
    assert bad.returncode == 2 and bad.stderr.startswith("[sweeper] --help nope: no such group")
    wrong = run_cli("dataset=nope", "-h", "dataset")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("[sweeper] config error: In 'config': Could not find")


def test_help_imports_neither_mlflow_nor_the_server_pool() -> None:
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['sweeper', '--help']\n"
        "try:\n"
        "    runpy.run_module('sweeper', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('mlflow', 'torch', 'launchers.pool', 'sweeper.runtime', 'sweeper.tracking')\n"
        "under = tuple(h + '.' for h in heavy)\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.startswith(under)))\n"
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"
