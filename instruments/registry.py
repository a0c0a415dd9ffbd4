"""One registry shape for every plug-in family: server kinds, dataset kinds, request backends,
load schedules. A family is a `Registry`; a variant registers itself where it is defined, with
the decorator, and `discover` imports every module of the family's package so that adding a
variant is one new module (plus its YAML option), with no list to edit elsewhere.

    SERVER_KINDS: Registry[ServerKind] = Registry("server kind", key="server.kind")

    @SERVER_KINDS.register("sim")
    class SimKind(ServerKind): ...

    SERVER_KINDS.get("sim")    # the class; an unknown name is a one-line ConfigError
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from instruments.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, family: str, key: str) -> None:
        # `family` names what is registered ("server kind"), `key` the config key that picks
        # one ("server.kind"), so an unknown name fails in one line naming that key
        self.family = family
        self.key = key
        self._entries: dict[str, T] = {}
        self._packages: list[str] = []

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        """Register `entry` under `name` (for plug-ins registered at run time)."""
        self.register(name)(entry)

    def discover(self, package: str) -> None:
        """Import every module of `package` (each registers its variants) once."""
        if package in self._packages:
            return
        self._packages.append(package)
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__, package + "."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                importlib.import_module(info.name)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"{self.key}: unknown {self.family} {name!r} (one of {', '.join(self.names())})"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        yield from sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries
