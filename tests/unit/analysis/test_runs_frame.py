from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.errors import AnalysisError
from analysis.frame import CORE_COLUMNS
from analysis.load_dirs import load_sweep_dir, sweep_name_for_dir
from analysis.loader import Sweep, load_sweep


def test_one_row_per_job_with_core_params_and_metrics(grid_2x3: Sweep) -> None:
    runs = grid_2x3.runs
    assert len(runs) == 6
    assert list(runs.columns[: len(CORE_COLUMNS)]) == list(CORE_COLUMNS)
    assert runs["job_num"].tolist() == [0, 1, 2, 3, 4, 5]
    assert runs["params.concurrency"].dtype == "int64"
    assert sorted(set(runs["params.concurrency"])) == [1, 8, 32]
    assert runs["params.request_rate"].tolist() == [float("inf")] * 6
    assert set(runs["params.server.profile"]) == {"fast", "slow"}
    assert (runs["status"] == "FINISHED").all()
    assert runs["simulated"].all()
    assert runs["overrides"].iloc[0] == "server.profile=fast,concurrency=1"


def test_metrics_equal_result_json(grid_2x3_dir: Path, grid_2x3: Sweep) -> None:
    result = json.loads((grid_2x3_dir / "4" / "result.json").read_text())
    row = grid_2x3.runs.set_index("job_num").loc[4]
    assert row["metrics.output_throughput"] == pytest.approx(result["output_throughput"])
    assert row["metrics.p99_ttft_ms"] == pytest.approx(result["p99_ttft_ms"])
    assert row["metrics.completed"] == result["completed"]
    # the string "inf" of request_rate is no metric; sweeper's own keys are core columns
    assert "metrics.request_rate" not in grid_2x3.runs.columns
    assert "metrics.sweeper.job_num" not in grid_2x3.runs.columns


def test_sweep_name_is_the_mlflow_run_name(grid_2x3_dir: Path) -> None:
    assert sweep_name_for_dir(grid_2x3_dir) == "sweep-2026-11-21_06-00-00"


def test_job_without_result_is_a_failed_row(grid_2x3_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "2026-11-21" / "06-00-00"
    shutil.copytree(grid_2x3_dir, copy)
    (copy / "2" / "result.json").unlink()
    runs = load_sweep_dir(copy)
    row = runs.set_index("job_num").loc[2]
    assert row["status"] == "FAILED"
    assert "result.json missing" in row["error"]
    assert row["params.concurrency"] == 32


def test_corrupt_result_json_names_the_file(grid_2x3_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "2026-11-21" / "06-00-00"
    shutil.copytree(grid_2x3_dir, copy)
    (copy / "1" / "result.json").write_text("{not json")
    with pytest.raises(AnalysisError, match=r"1/result.json: not valid JSON"):
        load_sweep_dir(copy)


def test_unknown_source_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="no MLflow store at"):
        load_sweep("sweep-nope", tracking_uri=f"sqlite:///{tmp_path}/missing.db")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AnalysisError, match="holds no job dirs"):
        load_sweep(empty)
