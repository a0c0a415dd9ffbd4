"""Server kinds, one module each (`sim`, `vllm`, `command`, `external`): its config dataclass,
its checks, and the `LaunchPlan` of the process it starts (or the URL it attaches to).

Adding a kind is one module here plus `conf/server/<name>.yaml`: every module of this package is
imported on first use (`SERVER_KINDS.discover`), so nothing else lists the kinds.

    check_server(model, server)      # cheap checks, before anything starts
    server_kind(server.kind).plan(model, server, port, workdir)
"""

from __future__ import annotations

from typing import Any

from instruments.registry import Registry
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind

__all__ = ["LaunchPlan", "ServerKind", "check_server", "server_kind", "server_kinds"]


def server_kinds() -> Registry[type[ServerKind[Any]]]:
    """Every registered server kind (the modules of this package imported once)."""
    SERVER_KINDS.discover(__name__)
    return SERVER_KINDS


def server_kind(name: str) -> ServerKind[Any]:
    """The kind named by `server.kind`; an unknown name is a one-line ConfigError."""
    return server_kinds().get(name)()


def check_server(model: ModelConfig, server: ServerConfig) -> None:
    """The checks of `server`'s kind (limits, server.cpus, the kind's own): one-line
    ConfigError naming the key, before any server starts."""
    server_kind(server.kind).check(model, server)
