"""Errors of `python -m analysis`, shown as one line naming the run, file or field."""

from __future__ import annotations

from instruments.errors import SweeperError


class AnalysisError(SweeperError):
    """Bad input to analysis: an unknown sweep, an unreadable job file, a missing metric."""
