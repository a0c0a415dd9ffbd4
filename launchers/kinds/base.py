"""What a server kind is: its config dataclass, its checks, and either the `LaunchPlan` of the
process it starts or the URL of the running server it attaches to.

A kind is one module of `launchers.kinds` holding its config (a `ServerConfig` subclass), a
`ServerKind` subclass registered in `SERVER_KINDS` under the name its YAML option
(`conf/server/<name>.yaml`) puts in `server.kind`, and its planner. The pool
(`launchers.pool`) and the job's checks (`launchers.kinds.check_server`) only ever dispatch
through the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from instruments.options import check_limits
from instruments.registry import Registry
from launchers.config import ModelConfig, ServerConfig
from launchers.cpus import check_cpus


@dataclass
class LaunchPlan:
    """How to start one server process; `launchers.process` runs any plan the same way."""

    argv: list[str]
    base_url: str
    # added to the inherited environment of the child
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/health"
    # ready only once GET /v1/models lists this name (None = /health alone)
    served_model: str | None = None
    # the CPUs the server process (and so its children) runs on; None = the OS's choice
    cpus: set[int] | None = None


ConfigT = TypeVar("ConfigT", bound=ServerConfig)


class ServerKind(Generic[ConfigT]):
    """One server kind. Stateless: the pool makes one whenever it needs to dispatch."""

    # the name in `server.kind` (and of the YAML option); the same as its registry key
    name: ClassVar[str]
    # the schema of the kind's `server` option (ConfigStore `schema/server/<name>`)
    config: ClassVar[type[ServerConfig]]
    # its numbers are simulated (labelled so in MLflow and the result block)
    simulated: ClassVar[bool] = False
    # seconds a start is assumed to take, for the dry run's time estimate (`plan=true`)
    expected_start_s: ClassVar[float] = 30.0
    # fields the pool otherwise treats as how it talks to a server, not what the server is,
    # that change how this kind is launched (so a server is not reused across them)
    launch_fields: ClassVar[frozenset[str]] = frozenset()

    def check(self, model: ModelConfig, server: ConfigT) -> None:
        """Cheap validation before anything starts: one-line ConfigError naming the key."""
        check_limits(model, "model.")
        check_limits(server, "server.")
        if server.cpus is not None:
            check_cpus(server.cpus)

    def plan(self, model: ModelConfig, server: ConfigT, port: int, workdir: Path) -> LaunchPlan:
        """The process that serves `model` on `port`; `workdir` is the server's own folder."""
        raise NotImplementedError(f"server kind {self.name!r} starts no process")

    def attach(self, server: ConfigT) -> str | None:
        """For a kind that starts nothing: the base URL of the running server, once it answers
        (ServerStartError otherwise). None: this kind starts its own process (`plan`)."""
        return None

    def executable(self, server: ConfigT) -> str | None:
        """The program the server runs from, for the fingerprint (None: argv says it all)."""
        return None


SERVER_KINDS: Registry[type[ServerKind[Any]]] = Registry("server kind", key="server.kind")
