"""Errors shown to users as one line (no traceback wall)."""

from __future__ import annotations

import os


class SweeperError(Exception):
    """Base of the errors sweeper reports as a single line."""


class ConfigError(SweeperError):
    """Bad input found before any server starts: name the key, file (and line) or field."""


class ServerStartError(SweeperError):
    """A server did not become ready; the message ends with the server log's last lines."""


def os_error_text(e: OSError) -> str:
    """`[Errno 28] No space left on device`, the same from Python and from pyarrow (whose
    strerror is its own sentence; some of its errors carry no errno: their text then)."""
    if e.errno is not None:
        return f"[Errno {e.errno}] {os.strerror(e.errno)}"
    return str(e)
