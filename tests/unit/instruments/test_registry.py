"""The one registry shape of every plug-in family."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from instruments.errors import ConfigError
from instruments.registry import Registry


def test_register_get_and_names() -> None:
    kinds: Registry[type] = Registry("server kind", key="server.kind")

    @kinds.register("b")
    class B: ...

    kinds.add("a", int)
    assert kinds.get("b") is B and kinds.names() == ["a", "b"] and "a" in kinds
    assert dict(kinds.items()) == {"a": int, "b": B}
    with pytest.raises(ConfigError) as err:
        kinds.get("nope")
    assert str(err.value) == "server.kind: unknown server kind 'nope' (one of a, b)"


def test_a_name_taken_by_another_entry_is_refused() -> None:
    kinds: Registry[type] = Registry("backend", key="load.backend")
    kinds.add("x", int)
    kinds.add("x", int)  # the same entry again (a module imported twice) is fine
    with pytest.raises(ValueError, match="registered twice"):
        kinds.add("x", str)


def test_discover_imports_every_public_module_of_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "plugfam"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from instruments.registry import Registry\n"
                                     "FAMILY = Registry('thing', key='x.kind')\n")  # fmt: skip
    for name in ("alpha", "beta", "_private"):
        (pkg / f"{name}.py").write_text(
            f"from plugfam import FAMILY\nFAMILY.add({name.strip('_')!r}, {name!r})\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        family = __import__("plugfam").FAMILY
        family.discover("plugfam")
        family.discover("plugfam")  # once only
        assert family.names() == ["alpha", "beta"]  # _private is not a variant
    finally:
        for mod in [m for m in sys.modules if m == "plugfam" or m.startswith("plugfam.")]:
            del sys.modules[mod]
