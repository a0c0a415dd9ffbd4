"""Fixtures of the tracking tests: an MLflow SQLite store of the test's own, and no sweep run id
inherited from (or left to) the process environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.sweeper.job.fake_runtime import forget_sweep_run_id


@pytest.fixture(autouse=True)
def no_inherited_sweep_run(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_sweep_run_id(monkeypatch)


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"
