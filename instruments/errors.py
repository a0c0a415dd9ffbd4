"""Errors shown to users as one line (no traceback wall)."""

from __future__ import annotations


class SweeperError(Exception):
    """Base of the errors sweeper reports as a single line."""


class ConfigError(SweeperError):
    """Bad input found before any server starts: name the key, file (and line) or field."""


class ServerStartError(SweeperError):
    """A server did not become ready; the message ends with the server log's last lines."""
