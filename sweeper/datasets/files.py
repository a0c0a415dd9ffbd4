"""Reading dataset files with errors that name the file and line (`<file>:<line>: <what>`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from instruments.errors import ConfigError


def require_file(path: str, key: str = "dataset.path") -> Path:
    if not path:
        raise ConfigError(f"{key}: no file given")
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{key}: file not found: {path}")
    return p


def read_json(path: str) -> Any:
    p = require_file(path)
    try:
        with p.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None


def read_jsonl(path: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-blank line."""
    p = require_file(path)
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        with p.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
                if not isinstance(obj, dict):
                    raise ConfigError(f"{path}:{lineno}: expected a JSON object per line")
                rows.append((lineno, obj))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not rows:
        raise ConfigError(f"{path}: no records")
    return rows


def read_csv(path: str, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of every data row; the header must hold `required` columns."""
    p = require_file(path)
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"{path}:1: missing column(s) {', '.join(missing)}")
        rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise ConfigError(f"{path}: no records")
    return rows


def read_table(path: str, required: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """JSONL or CSV by extension (.csv = CSV); every row must hold `required` fields."""
    if path.lower().endswith(".csv"):
        return read_csv(path, required)
    rows = read_jsonl(path)
    for lineno, row in rows:
        missing = [c for c in required if c not in row]
        if missing:
            raise ConfigError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
    return rows


def as_number(value: Any, path: str, lineno: int, field: str, integer: bool = True) -> float:
    """A numeric field as int (or float); ConfigError naming file, line and field otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}:{lineno}: {field} is not a number: {value!r}") from None
    if integer:
        if number != int(number) or number < 0:
            raise ConfigError(f"{path}:{lineno}: {field} must be a non-negative integer: {value!r}")
        return int(number)
    return number
