"""Request backends: how a RequestSpec becomes an HTTP body and how response events are read.

One module per protocol family registers its Backend subclasses in `BACKENDS` under their
`load.backend` names (`@BACKENDS.register("openai-chat")`); a plug-in adds its own with
`register_backend`.
"""

from __future__ import annotations

from sweeper.client.backends.base import BACKENDS, Backend, StreamState

BACKENDS.discover(__name__)


def register_backend(name: str, backend: type[Backend]) -> None:
    """Plug in a custom protocol (a Backend subclass) under `load.backend=<name>`."""
    BACKENDS.add(name, backend)


def get_backend(name: str) -> type[Backend]:
    """The Backend class of `load.backend=<name>` (ConfigError naming the key otherwise)."""
    return BACKENDS.get(name)


__all__ = ["BACKENDS", "Backend", "StreamState", "get_backend", "register_backend"]
