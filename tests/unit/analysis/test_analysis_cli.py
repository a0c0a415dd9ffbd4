from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main


def test_report_cli_writes_html_and_pngs(
    grid_2x3_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(grid_2x3_dir), "--out", str(tmp_path), "--no-png"]) == 0
    assert f"report: {tmp_path / 'report.html'}" in capsys.readouterr().out
    assert (tmp_path / "report.html").is_file()
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["report", "sweep-missing", "--tracking-uri", "sqlite:////nonexistent/x.db"],
            "error: sweep-missing: not a sweep dir, and no MLflow store at /nonexistent/x.db",
        ),
        (["report", "{dir}", "--x", "bogus"], "error: param 'bogus' is not in the runs"),
        (["report", "{dir}", "--jobs", "0,99"], "error: --jobs: no job number(s) [99]"),
        (["export", "{tmp}/runs.xlsx", "--dirs", "{dir}"], "unknown export format"),
        (["sync", "{tmp}/nope"], "error: sync: {tmp}/nope is not a directory"),
    ],
)
def test_bad_input_is_one_line_error(
    argv: list[str],
    message: str,
    grid_2x3_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a.format(dir=grid_2x3_dir, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_from_sweep_dirs(grid_2x3_dir: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"runs{suffix}"
    assert main(["export", str(out), "--dirs", str(grid_2x3_dir.parent.parent)]) == 0
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(frame) == 6
    assert sorted(set(frame["params.concurrency"])) == [1, 8, 32]
