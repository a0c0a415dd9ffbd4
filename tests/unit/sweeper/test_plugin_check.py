"""A launcher/sweeper plugin that is not installed is one line naming the extra, before Hydra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sweeper import plugin_check
from sweeper.plugin_check import explain_unknown_plugin, missing_plugin
from tests.helpers.processes import run_captured


def test_installed_plugins_pass() -> None:
    # the dev environment has the [scale] and [ray] extras
    for choice in plugin_check.PLUGINS:
        assert missing_plugin([choice]) is None, choice


@pytest.mark.parametrize(
    ("arg", "extra", "dist"),
    [
        ("hydra/launcher=submitit_local", "scale", "hydra-submitit-launcher"),
        ("hydra/launcher=submitit_slurm", "scale", "hydra-submitit-launcher"),
        ("hydra/launcher=joblib", "scale", "hydra-joblib-launcher"),
        ("hydra/launcher=ray", "ray", "ray"),
        ("hydra/sweeper=optuna", "scale", "hydra-optuna-sweeper"),
    ],
)
def test_missing_plugin_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, arg: str, extra: str, dist: str
) -> None:
    monkeypatch.setattr(plugin_check, "installed", lambda module: False)
    msg = missing_plugin(["-m", "concurrency=1,2", arg])
    assert msg is not None
    assert msg.startswith(f"{arg} needs {dist}")
    assert f"pip install -e '.[{extra}]'" in msg
    assert "\n" not in msg


def test_hydra_unknown_plugin_error_becomes_the_same_line() -> None:
    err = RuntimeError(
        "Unknown plugin class : 'hydra_plugins.hydra_submitit_launcher.submitit_launcher.X'"
    )
    msg = explain_unknown_plugin(err)
    assert msg is not None and "'.[scale]'" in msg
    ours = RuntimeError("Unknown plugin class : 'hydra_plugins.sweeper_launchers._slurm.S'")
    assert "hydra-submitit-launcher" in (explain_unknown_plugin(ours) or "")
    assert explain_unknown_plugin(RuntimeError("something else")) is None


BLOCK_SUBMITIT = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith("hydra_plugins.hydra_submitit_launcher"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
sys.argv[0] = "sweeper"
from sweeper.cli import main
main()
"""


def test_cli_without_submitit_says_one_line(tmp_path: Path) -> None:
    proc = run_captured(
        [
            sys.executable, "-c", BLOCK_SUBMITIT, "-m", "hydra/launcher=submitit_local",
            "concurrency=1,2", f"hydra.sweep.dir={tmp_path}/sweep", "tracking.enabled=false",
        ],
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "[sweeper] hydra/launcher=submitit_local needs hydra-submitit-launcher, which is not "
        "installed: pip install -e '.[scale]' (or pip install hydra-submitit-launcher)"
    ], proc.stderr
    assert not (tmp_path / "sweep").exists()  # nothing ran
