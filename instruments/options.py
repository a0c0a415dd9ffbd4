"""Config fields that carry their own help and limits (the schemas behind `conf/`).

    @dataclass
    class LoadConfig:
        concurrency: int | None = option(1, "requests in flight (closed loop); null = no cap", ge=1)

`option` is `dataclasses.field` with the help text and limits in its metadata: OmegaConf ignores
the metadata, `python -m sweeper --help` prints the help per group, `docs/` can list it, and
`check_limits` (called by each schema's `validate()`) turns a value outside the limits into one
ConfigError line naming the dotted key. None always passes the limits (None means "unset").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from instruments.errors import ConfigError

HELP = "help"
LIMITS = ("ge", "gt", "le", "lt", "choices")


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A dataclass field with `help` and limits (`ge`, `gt`, `le`, `lt`, `choices`)."""
    meta: dict[str, Any] = {HELP: help}
    for name, bound in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)):
        if bound is not None:
            meta[name] = bound
    if choices is not None:
        meta["choices"] = tuple(choices)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def field_help(f: dataclasses.Field[Any]) -> str:
    """The help of a field, with its limits in words (`>= 1`, `one of a, b`)."""
    text = str(f.metadata.get(HELP, ""))
    limits = [
        f"{sym} {f.metadata[name]:g}"
        for name, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if name in f.metadata
    ]
    if "choices" in f.metadata:
        limits.append("one of " + ", ".join(str(c) for c in f.metadata["choices"]))
    if limits:
        text = f"{text} [{'; '.join(limits)}]" if text else f"[{'; '.join(limits)}]"
    return text


def _violation(value: Any, meta: Any) -> str | None:
    if value is None:
        return None
    if "choices" in meta and value not in meta["choices"]:
        return "must be one of " + ", ".join(repr(c) for c in meta["choices"])
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "must be a number"
    for name, ok, words in (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    ):
        if name in meta and not ok(value, meta[name]):
            return f"must be {words} {meta[name]:g}"
    return None


def limit_errors(node: Any, prefix: str = "") -> Iterator[str]:
    """'key: must be >= 1, got 0' for every field of `node` (a dataclass instance, nested ones
    included) outside its limits."""
    for f in dataclasses.fields(node):
        value = getattr(node, f.name, None)
        why = _violation(value, f.metadata)
        if why is not None:
            yield f"{prefix}{f.name}: {why}, got {value!r}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from limit_errors(value, f"{prefix}{f.name}.")


def check_limits(node: Any, prefix: str = "") -> None:
    """Raise the first limit error of `node` as a ConfigError (one line naming the key)."""
    for message in limit_errors(node, prefix):
        raise ConfigError(message)
