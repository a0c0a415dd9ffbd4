"""A Hydra launcher or sweeper whose package is not installed, said in one line naming the extra
to install, before anything runs (Hydra itself fails late, with `Unknown plugin class` under a
30-frame traceback, after the sweep run was opened).

`missing_plugin(argv)` reads `hydra/launcher=NAME` and `hydra/sweeper=NAME` from the command
line; `explain_unknown_plugin(error)` turns Hydra's own error (a launcher chosen in a config
file) into the same line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec


@dataclass(frozen=True)
class PluginPackage:
    module: str  # what must be importable
    dist: str  # the pip distribution that provides it
    extra: str  # sweeper's extra that installs it
    # class-name prefixes of the plugin (Hydra's `Unknown plugin class : '...'`)
    classes: tuple[str, ...]


_SUBMITIT = PluginPackage(
    "hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher", "scale",
    ("hydra_plugins.hydra_submitit_launcher.", "hydra_plugins.sweeper_launchers._slurm."),
)  # fmt: skip
PLUGINS: dict[str, PluginPackage] = {
    "hydra/launcher=joblib": PluginPackage(
        "hydra_plugins.hydra_joblib_launcher", "hydra-joblib-launcher", "scale",
        ("hydra_plugins.hydra_joblib_launcher.",),
    ),
    "hydra/launcher=submitit_local": _SUBMITIT,
    "hydra/launcher=submitit_slurm": _SUBMITIT,
    "hydra/launcher=ray": PluginPackage("ray", "ray", "ray", ()),
    "hydra/sweeper=optuna": PluginPackage(
        "hydra_plugins.hydra_optuna_sweeper", "hydra-optuna-sweeper", "scale",
        ("hydra_plugins.hydra_optuna_sweeper.",),
    ),
}  # fmt: skip


def installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing or half-installed
        return False


def line(choice: str, package: PluginPackage) -> str:
    return (
        f"{choice} needs {package.dist}, which is not installed: "
        f"pip install -e '.[{package.extra}]' (or pip install {package.dist})"
    )


def missing_plugin(argv: Sequence[str]) -> str | None:
    """The one line for the first plugin chosen on the command line that is not installed."""
    for arg in argv:
        choice = arg.lstrip("+~")
        package = PLUGINS.get(choice)
        if package is not None and not installed(package.module):
            return line(choice, package)
    return None


_UNKNOWN = re.compile(r"Unknown plugin class : '([^']+)'")


def explain_unknown_plugin(error: BaseException) -> str | None:
    """The one line for Hydra's `Unknown plugin class` error of a known plugin, else None."""
    match = _UNKNOWN.search(str(error))
    if match is None:
        return None
    cls = match.group(1)
    for choice, package in PLUGINS.items():
        if any(cls.startswith(prefix) for prefix in package.classes):
            return line(choice, package)
    return f"Hydra plugin {cls} is not installed"
