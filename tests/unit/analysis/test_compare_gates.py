"""`compare --fail-on`: gate parsing, the regression rule (threshold, and significance with
repeats), exit codes, the PR-comment markdown and the JSON; baselines by tag."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.compare import compare_sweeps
from analysis.errors import AnalysisError
from analysis.gates import Gate, check_gates, parse_fail_on
from analysis.loader import Sweep
from analysis.sync import sync_sweep_dirs
from analysis.synthetic import SyntheticGrid, write_sweep


def sweep(name: str, ttft: list[list[float]], tput: float = 100.0) -> Sweep:
    """One row per repeat of each concurrency point (ttft[i] = the repeats at point i)."""
    rows = []
    for i, values in enumerate(ttft):
        for r, v in enumerate(values):
            rows.append(
                {
                    "job_num": len(rows),
                    "status": "FINISHED",
                    "params.concurrency": 2**i,
                    "params.repeat": r,
                    "metrics.p99_ttft_ms": v,
                    "metrics.output_throughput": tput,
                }
            )
    return Sweep(name, pd.DataFrame(rows), None, None, None)


GATES = [Gate("p99_ttft_ms", 1, 10.0), Gate("output_throughput", -1, 5.0)]


def test_parse_fail_on_and_its_one_line_errors() -> None:
    assert parse_fail_on("p99_ttft_ms:+10%, output_throughput:-5%") == GATES
    for bad in ("p99_ttft_ms:10%", "p99_ttft_ms:+10", "p99_ttft_ms", ":+1%", "a:+x%"):
        with pytest.raises(AnalysisError, match=r"^--fail-on: .* is not METRIC:\+N% or"):
            parse_fail_on(bad)


def test_single_runs_fail_beyond_the_threshold_only() -> None:
    a = sweep("A", [[100.0], [200.0]], tput=100.0)
    b = sweep("B", [[109.0], [230.0]], tput=96.0)  # +9 % (ok), +15 % (fails); -4 % (ok)
    checks = check_gates(compare_sweeps(a, b, ["p99_ttft_ms", "output_throughput"]), GATES)
    failed = [(c.point, c.metric) for c in checks if c.failed]
    assert failed == [("concurrency=2", "p99_ttft_ms")]
    assert all(c.significant is None for c in checks)
    slower = sweep("C", [[100.0], [200.0]], tput=94.0)  # -6 % throughput at both points
    checks = check_gates(compare_sweeps(a, slower, ["output_throughput"]), GATES[1:])
    assert [c.failed for c in checks] == [True, True]


def test_with_repeats_only_a_significant_difference_fails() -> None:
    a = sweep("A", [[100.0, 101.0, 99.0], [100.0, 140.0, 60.0]])
    b = sweep("B", [[120.0, 121.0, 119.0], [120.0, 160.0, 80.0]])  # +20 % at both points
    checks = check_gates(compare_sweeps(a, b, ["p99_ttft_ms"]), GATES[:1])
    by_point = {c.point: c for c in checks}
    assert by_point["concurrency=1"].failed and by_point["concurrency=1"].significant
    noisy = by_point["concurrency=2"]  # same +20 %, but within the noise
    assert noisy.change_pct == pytest.approx(20.0) and noisy.significant is False
    assert not noisy.failed


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("gates")
    a = write_sweep(root / "a", SyntheticGrid(with_files=False), datetime(2026, 12, 1, 1))
    same = write_sweep(root / "b", SyntheticGrid(with_files=False), datetime(2026, 12, 1, 2))
    slow = SyntheticGrid(with_files=False, speed_factor=1.5)
    worse = write_sweep(root / "c", slow, datetime(2026, 12, 1, 3))
    return a, same, worse


def test_cli_exit_codes_markdown_and_json(
    pair: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, same, worse = pair
    gate = ["--fail-on", "p99_ttft_ms:+10%,output_throughput:-5%"]
    assert main(["compare", str(a), str(same), *gate, "--json", str(tmp_path / "eq.json")]) == 0
    out = capsys.readouterr().out
    assert "✅ PASS" in out and "0 of 12 gate checks failed" in out
    assert main(["compare", str(a), str(worse), *gate, "--json", str(tmp_path / "bad.json")]) == 1
    out = capsys.readouterr().out
    assert "❌ FAIL" in out and "| ❌ fail |" in out and "<details>" in out
    report = json.loads((tmp_path / "bad.json").read_text())
    assert report["failed"] is True and any(g["failed"] for g in report["gates"])
    assert json.loads((tmp_path / "eq.json").read_text())["failed"] is False
    assert main(["compare", str(a), str(worse), "--fail-on", "p99_ttft_ms>10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --fail-on: 'p99_ttft_ms>10'")


def test_baseline_tag_resolves_the_tagged_sweep(
    pair: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, same, worse = pair
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = ["--tracking-uri", uri, "--experiment", "gates"]
    sync_sweep_dirs([a, same, worse], uri, "gates", artifacts=False)
    assert main(["tag-baseline", str(a), "main", *store]) == 0
    gate = ["--fail-on", "p99_ttft_ms:+10%"]
    assert main(["compare", "--baseline", "main", str(same), *gate, *store]) == 0
    assert main(["compare", "--baseline", "main", str(worse), *gate, *store]) == 1
    capsys.readouterr()
    assert main(["compare", "--baseline", "nope", str(worse), *store]) == 2
    assert "no sweep tagged sweeper.baseline='nope'" in capsys.readouterr().err
