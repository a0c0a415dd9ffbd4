"""`compare` against numbers worked out by hand."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.compare import compare_sweeps, to_markdown
from analysis.errors import AnalysisError
from analysis.loader import Sweep, load_sweep
from analysis.synthetic import SyntheticGrid, write_sweep


@pytest.fixture(scope="module")
def faster_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 2 × 3 grid on a server twice as fast."""
    grid = SyntheticGrid(speed_factor=0.5, with_files=False)
    return write_sweep(tmp_path_factory.mktemp("b"), grid, datetime(2026, 11, 21, 6, 30))


def result(sweep_dir: Path, job: int) -> dict:
    return json.loads((sweep_dir / str(job) / "result.json").read_text())


def test_ratios_equal_hand_computation(grid_2x3_dir: Path, faster_dir: Path) -> None:
    cmp = compare_sweeps(
        load_sweep(grid_2x3_dir), load_sweep(faster_dir), ["output_throughput", "p99_ttft_ms"]
    )
    assert cmp.keys == ["concurrency", "server.profile"]
    assert len(cmp.table) == 12  # 6 matched points × 2 metrics
    for job in range(6):
        a, b = result(grid_2x3_dir, job), result(faster_dir, job)
        profile, conc = a["sweeper"]["overrides"][0].split("=")[1], a["max_concurrency"]
        for metric in ("output_throughput", "p99_ttft_ms"):
            row = cmp.table[
                (cmp.table["concurrency"] == conc)
                & (cmp.table["server.profile"] == profile)
                & (cmp.table["metric"] == metric)
            ]
            assert len(row) == 1
            assert row["ratio"].iloc[0] == pytest.approx(b[metric] / a[metric], rel=1e-12)
            assert row["mean_a"].iloc[0] == pytest.approx(a[metric])
    assert cmp.only_a == [] and cmp.only_b == []


def frame_with(values: list[float], conc: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "job_num": range(len(values)),
            "status": "FINISHED",
            "params.concurrency": conc,
            "params.repeat": range(len(values)),
            "metrics.output_throughput": values,
        }
    )


def sweep_of(name: str, frame: pd.DataFrame) -> Sweep:
    return Sweep(name, frame, None, None, None)


def test_repeats_give_ci_and_welch_significance_by_hand() -> None:
    a = sweep_of("A", pd.concat([frame_with([10.0, 12.0, 14.0]), frame_with([5.0, 5.0], 1)]))
    b = sweep_of("B", pd.concat([frame_with([20.0, 22.0, 24.0]), frame_with([5.0, 6.0], 1)]))
    cmp = compare_sweeps(a, b, ["output_throughput"])
    row = cmp.table[cmp.table["concurrency"] == 8].iloc[0]
    assert row["mean_a"] == 12.0 and row["mean_b"] == 22.0
    assert row["ratio"] == pytest.approx(22.0 / 12.0)
    # sd = 2, n = 3: half-width = t(0.975, df=2) * 2 / sqrt(3), t(0.975, 2) = 4.302653
    assert row["ci_a"] == pytest.approx(4.302653 * 2 / math.sqrt(3), rel=1e-6)
    # Welch: t = 10 / sqrt(4/3 + 4/3), df = 4; for df = 4 the t CDF is closed-form:
    # F(t) = 1/2 + (x/2)(1 + (1 - x²)/2), x = t / sqrt(4 + t²)
    t = 10 / math.sqrt(8 / 3)
    x = t / math.sqrt(4 + t * t)
    p = 2 * (1 - (0.5 + x / 2 * (1 + (1 - x * x) / 2)))
    assert row["p_value"] == pytest.approx(p, rel=1e-6)
    assert bool(row["significant"]) is True
    low = cmp.table[cmp.table["concurrency"] == 1].iloc[0]
    assert low["n_b"] == 2 and bool(low["significant"]) is False  # 5,5 vs 5,6: p > 0.05
    text = to_markdown(cmp)
    assert "12 ± 4.97" in text and "| yes |" in text and "p (Welch)" in text


def test_unmatched_points_are_listed_and_disjoint_grids_fail() -> None:
    a = sweep_of("A", pd.concat([frame_with([1.0]), frame_with([1.0], 1)]))
    b = sweep_of("B", pd.concat([frame_with([2.0]), frame_with([1.0], 32)]))
    cmp = compare_sweeps(a, b, ["output_throughput"])
    assert cmp.only_a == ["concurrency=1"] and cmp.only_b == ["concurrency=32"]
    c = sweep_of("C", pd.concat([frame_with([2.0], 2), frame_with([1.0], 64)]))
    with pytest.raises(AnalysisError, match="share no grid point"):
        compare_sweeps(a, c, ["output_throughput"])
    with pytest.raises(AnalysisError, match="metric nope_ms is in neither sweep"):
        compare_sweeps(a, b, ["nope_ms"])


def test_cli_writes_markdown_and_csv(
    grid_2x3_dir: Path, faster_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "compare",
            str(grid_2x3_dir),
            str(faster_dir),
            "--metrics",
            "median_tpot_ms",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("| concurrency | server.profile | metric |")
    csv = pd.read_csv(tmp_path / "compare.csv")
    assert len(csv) == 6 and (csv["ratio"] < 0.6).all()  # twice as fast: TPOT ratio ≈ 0.5
    assert (tmp_path / "compare.md").read_text().strip() == out.split("\n\nwritten")[0].strip()
