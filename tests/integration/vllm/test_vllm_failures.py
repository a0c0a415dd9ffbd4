"""A vLLM that cannot start fails fast with its own words in the error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from instruments.errors import ServerStartError
from launchers.config import ModelConfig
from launchers.kinds.vllm import VllmServerConfig
from launchers.pool import ServerPool

pytestmark = pytest.mark.vllm


def test_invalid_argument_is_a_start_error_with_the_log_tail(
    vllm_python: str, tiny_model: ModelConfig, tmp_path: Path
) -> None:
    pool = ServerPool()
    cfg = VllmServerConfig(executable=vllm_python, args={"no-such-option": "x"})
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as err:
        pool.acquire(tiny_model, cfg, tmp_path)
    elapsed = time.monotonic() - t0
    print(f"\n[vllm] invalid argument reported after {elapsed:.1f} s")
    message = str(err.value)
    assert "exited with code" in message
    assert "--no-such-option" in message  # vLLM's argparse complaint, from the log tail
    assert elapsed < cfg.ready_timeout_s / 2  # fail fast: no wait for the ready timeout
    pool.close()
