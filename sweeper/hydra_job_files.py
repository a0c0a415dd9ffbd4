"""Hydra's copies of a job's config (`.hydra/config.yaml`, `hydra.yaml`, `overrides.yaml`) are
written by Hydra's `run_job` in the sweep's own process, before the job runs. A write that fails
there (the disk filled up, the job dir went read-only) raised out of the launcher and ended the
whole sweep with a traceback. Installed, such a write is a one-line warning naming the file, and
the job runs: its own files then fail it with the same cause (`cannot write PATH: …`), tracked,
and the sweep goes on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.core import utils as hydra_utils

from instruments.errors import os_error_text

log = logging.getLogger(__name__)
_original = hydra_utils._save_config


def _save_config(cfg: Any, filename: str, output_dir: Path) -> None:
    try:
        _original(cfg, filename, output_dir)
    except OSError as e:
        log.warning("cannot write %s: %s", Path(output_dir) / filename, os_error_text(e))


def install() -> None:
    """Make Hydra's config copies of a job best effort in this process (idempotent)."""
    hydra_utils._save_config = _save_config
