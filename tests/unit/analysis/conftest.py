"""Fixtures: synthetic sweeps written to the job-dir contract (no MLflow here)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from analysis.loader import Sweep, load_sweep
from analysis.synthetic import SyntheticGrid, write_sweep


@pytest.fixture(scope="session")
def grid_2x3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulator profiles × three concurrencies, with requests and server metrics."""
    return write_sweep(tmp_path_factory.mktemp("sweeps"), SyntheticGrid())


@pytest.fixture(scope="session")
def grid_2x3(grid_2x3_dir: Path) -> Sweep:
    return load_sweep(grid_2x3_dir)


@pytest.fixture(scope="session")
def repeated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One profile × two concurrencies × three repeats."""
    grid = SyntheticGrid(profiles=["fast"], concurrencies=[1, 8], repeats=3, with_files=False)
    return write_sweep(tmp_path_factory.mktemp("repeats"), grid, datetime(2026, 11, 21, 7, 0))
