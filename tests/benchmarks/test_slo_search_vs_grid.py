"""SLO capacity search vs a dense grid on the simulator (prints both numbers).

    python -m pytest tests/benchmarks/test_slo_search_vs_grid.py -m benchmark -s

Target (printed, not asserted): the search's capacity within 10 % of the dense grid's knee, in
<= 8 trials. The knee is the highest grid rate below the first rate that misses an SLO.
Server: the simulator's default cost model with max_num_seqs=2, 64-in / 16-out prompts
(capacity near 19 req/s, where the client keeps up on a small machine); SLOs p99 TTFT <= 500 ms,
p99 TPOT <= 50 ms, no failed request.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sweeper.slo_search import check
from tests.helpers.cli import Sweep

SERVER = (
    "concurrency=null", "num_prompts=150", "server.max_num_seqs=2", "dataset.input_len=64",
    "dataset.output_len=16", "print_result=false",
)  # fmt: skip
SLO = {"p99_ttft_ms": 500.0, "p99_tpot_ms": 50.0, "failed_fraction": 0.0}
GRID = [float(r) for r in range(10, 31)]


@pytest.mark.benchmark
def test_slo_search_matches_dense_grid_knee(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    t0 = time.monotonic()
    grid = Sweep(tmp_path / "grid")
    proc = grid.run("-m", *SERVER, "request_rate=" + ",".join(f"{r:g}" for r in GRID), timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid_s = time.monotonic() - t0
    verdicts = [check(r, SLO) for r in grid.results()]
    assert len(verdicts) == len(GRID)
    first_miss = next((i for i, (ok, _) in enumerate(verdicts) if not ok), None)
    assert first_miss is not None and first_miss > 0, "the grid must bracket the knee"
    knee = GRID[first_miss - 1]

    t0 = time.monotonic()
    search = Sweep(tmp_path / "search")
    proc = search.run(
        "-m", "hydra/sweeper=slo_search", *SERVER, "hydra.sweeper.low=2",
        "hydra.sweeper.high=64", "hydra.sweeper.max_trials=8", timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    search_s = time.monotonic() - t0
    (server,) = json.loads((search.sweep_dir / "slo_search.json").read_text())["servers"]
    trials, capacity = len(server["trials"]), server["capacity"]
    assert trials <= 8 and capacity is not None

    error = capacity / knee - 1
    with capsys.disabled():
        print("\nSLO capacity search vs dense grid (simulator, SIMULATED numbers)")
        print(f"  SLOs: {SLO}")
        for rate, (ok, why) in zip(GRID, verdicts, strict=True):
            print(
                f"  grid request_rate={rate:5.1f}  {'meets' if ok else 'misses: ' + ', '.join(why)}"
            )
        print(f"  dense grid knee : {knee:6.2f} req/s  ({len(GRID)} jobs, {grid_s:.0f} s)")
        print(f"  slo_search      : {capacity:6.2f} req/s  ({trials} trials, {search_s:.0f} s)")
        verdict = "within" if abs(error) <= 0.10 else "OUTSIDE"
        print(f"  difference      : {error:+.1%}  ({verdict} the 10 % target)")
