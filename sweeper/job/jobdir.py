"""Files of a job dir, written atomically (temp file + rename): a killed job never leaves a
half-written `result.json`."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT = "result.json"
REQUESTS = "requests.parquet"
SERVER_METRICS = "server_metrics.parquet"
SERVER_LOG = "server.log"
ERROR_LOG = "error.log"


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` on a temp path beside `path`, then rename it into place (what `write`
    returns, say a byte count, is ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf": JSON has no infinity; vLLM writes request_rate "inf" too
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(_json_safe(data), indent=2, default=str) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def copy_log_slice(src: Path, dst: Path, offset: int) -> None:
    """This job's part of a (possibly shared) server log: bytes from `offset` to the end."""
    try:
        with src.open("rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return
    atomic_write(dst, lambda tmp: tmp.write_bytes(data))
