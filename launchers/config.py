"""Typed configuration every server kind shares: what is served (`ModelConfig`) and the fields of
every `server` option (`ServerConfig`).

Each kind's own dataclass extends `ServerConfig` in its module of `launchers.kinds` (registered
by `sweeper.schema` as `schema/server/<kind>`). Launchers take these dataclasses, never a
DictConfig. Fields carry their help and limits (`instruments.options.option`).
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.options import option


@dataclass
class ModelConfig:
    """What is served. `name` is the served model name the client asks for."""

    name: str = option("sim-model", "the served model name the client asks for")
    path: str | None = option(
        None,
        "local folder or hub id handed to the server (vLLM's --model); null for the simulator",
    )
    tokenizer: str | None = option(
        None,
        "local tokenizer folder (or hub id) for exact token counts; null = server-side estimate",
    )
    generate: str | None = option(
        None,
        "a generator that materialises path/tokenizer locally on first use (e.g. tiny-random)",
    )
    max_model_len: int | None = option(
        None, "context length the server is started with; null = the server's default", ge=1
    )


@dataclass
class ServerConfig:
    """Fields every server kind shares."""

    kind: str = option("external", "the server kind (one module of launchers.kinds each)")
    host: str = option("127.0.0.1", "the address the server binds (and the client connects to)")
    port: int | None = option(
        None,
        "the port the server listens on; null (or 0) = a free one chosen at start",
        ge=0,
        le=65535,
    )
    health_path: str = option("/health", "GET path that answers 200 once the server is ready")
    ready_timeout_s: float = option(120.0, "seconds to wait for the server to be ready", gt=0)
    stop_timeout_s: float = option(
        15.0, "SIGTERM, then SIGKILL of the process group after this many seconds", ge=0
    )
    env: dict[str, str] = option(
        default_factory=dict, help="added to the environment a started server inherits"
    )
    # a load generator on the other CPUs never waits for the server's core (nor it for the
    # client's)
    cpus: str | None = option(
        None,
        "CPUs a started server runs on, a Linux CPU list such as 1 or 0,2-3; null = wherever the "
        "OS puts it. Not for server=external (sweeper does not start it)",
    )
    reset_prefix_cache: bool = option(
        True, "reset the prefix cache between jobs that reuse this server"
    )
    metrics_interval_s: float = option(
        1.0, "scrape GET /metrics every this many seconds during a job (0 = off)", ge=0
    )
