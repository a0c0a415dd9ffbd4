"""Per-kind launchers: each turns (model, server config, port) into a `LaunchPlan`.

The process machinery (`launchers.process`) runs any plan the same way: own process group,
log file, readiness probe, SIGTERM → wait → SIGKILL of the group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class LaunchPlan:
    argv: list[str]
    base_url: str
    # added to the inherited environment of the child
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/health"
    # ready only once GET /v1/models lists this name (None = /health alone)
    served_model: str | None = None
    # the server's numbers are simulated (labelled so in MLflow and the result block)
    simulated: bool = False
    # the CPUs the server process (and so its children) runs on; None = the OS's choice
    cpus: set[int] | None = None


def option_args(name: str, value: object) -> list[str]:
    """One CLI option from a config field: `--name value`; booleans as `--name` / `--no-name`;
    dicts and lists as JSON. Values reach argv verbatim (no shell is involved)."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag] if value else ["--no-" + name.replace("_", "-")]
    if isinstance(value, dict | list):
        return [flag, json.dumps(value, separators=(",", ":"))]
    return [flag, str(value)]


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace `{key}` placeholders (only the given keys; other braces, e.g. JSON, stay)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
