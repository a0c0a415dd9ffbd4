"""Per-kind launchers: each turns (model, server config, port) into a `LaunchPlan`.

The process machinery (`launchers.process`) runs any plan the same way: own process group,
log file, readiness probe, SIGTERM → wait → SIGKILL of the group.
"""

from __future__ import annotations

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
