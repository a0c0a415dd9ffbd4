"""Fixtures of the simulator's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.sim import SimProcess, running_sim


@pytest.fixture
def fast_sim(tmp_path: Path) -> Iterator[SimProcess]:
    with running_sim(
        "--profile", "fast", "--served-model-name", "sim-test", log_dir=tmp_path
    ) as sim:
        yield sim
