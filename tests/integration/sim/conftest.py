"""Fixtures of the simulator's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sim.sim_harness import SimProcess, run_sim


@pytest.fixture
def fast_sim(tmp_path: Path) -> Iterator[SimProcess]:
    with run_sim(tmp_path, "--profile", "fast", "--served-model-name", "sim-test") as sim:
        yield sim
