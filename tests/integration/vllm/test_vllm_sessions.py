"""Multi-turn sessions on real vLLM on CPU (model=tiny-random) with prefix caching on: every
turn re-sends the history, so the server's hit rate is non-zero and grows with the turn."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.cli import Sweep

pytestmark = pytest.mark.vllm


def test_multi_turn_hit_rate_grows_with_turns(vllm_python: str, tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m",
        "+experiment=multi_turn",
        "server.enable_prefix_caching=true",
        "server=vllm",
        "model=tiny-random",
        f"server.executable={vllm_python}",
        "num_prompts=4",
        "concurrency=2",
        "dataset.turns.mean=4",
        "dataset.system_len=0",
        "dataset.output_len.mean=8",
        "load.sessions.warmup_sessions=0",
        "print_result=false",
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = sweep.results()
    s = result["sweeper"]
    assert result["failed"] == 0 and s["sessions_completed"] == 4
    assert s["server_prefix_cache_hit_rate"] > 0
    rates = [s["by_turn"][str(k)]["prefix_cache_hit_rate"] for k in range(4)]
    print(
        f"\nvLLM CPU multi-turn: hit rate by turn {[round(r, 3) for r in rates]}, "
        f"over the run {s['server_prefix_cache_hit_rate']:.3f}"
    )
    assert rates[1] > 0 and rates[3] > rates[1] > rates[0]
    frame = pd.read_parquet(sweep.sweep_dir / "0" / "requests.parquet")
    assert sorted(frame["turn"].unique()) == [0, 1, 2, 3]
