"""`server=external`: an already running OpenAI-compatible endpoint. sweeper neither starts nor
stops it: the pool attaches to `base_url` once its health path answers."""

from __future__ import annotations

from dataclasses import dataclass

from instruments.errors import ConfigError, ServerStartError
from instruments.options import option
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind
from launchers.process import wait_until_ready


@dataclass
class ExternalServerConfig(ServerConfig):
    """An already running endpoint: no lifecycle."""

    kind: str = option("external", "the server kind")
    base_url: str = option("http://127.0.0.1:8000", "where the running server answers")
    ready_timeout_s: float = option(
        5.0,
        "seconds to wait for the endpoint: one that is up answers at once, so don't wait long",
        gt=0,
    )
    reset_prefix_cache: bool = option(
        False, "reset the prefix cache between jobs that reuse this server"
    )


@SERVER_KINDS.register("external")
class ExternalKind(ServerKind[ExternalServerConfig]):
    name = "external"
    config = ExternalServerConfig
    expected_start_s = 0.0

    def check(self, model: ModelConfig, server: ExternalServerConfig) -> None:
        if server.cpus is not None:
            raise ConfigError("server.cpus: server=external runs where it was started (sweeper "
                              "does not start it); pin it there, e.g. with taskset")  # fmt: skip
        super().check(model, server)

    def attach(self, server: ExternalServerConfig) -> str:
        probe = LaunchPlan(argv=[], base_url=server.base_url, health_path=server.health_path)
        try:
            wait_until_ready(probe, server.ready_timeout_s)
        except ServerStartError as e:
            raise ServerStartError(f"external server {server.base_url}: {e}") from None
        return server.base_url
