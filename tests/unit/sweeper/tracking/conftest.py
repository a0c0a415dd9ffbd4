"""Fixtures of the tracking tests: an MLflow SQLite store of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"
