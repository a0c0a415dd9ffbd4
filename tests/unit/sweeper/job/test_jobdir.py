from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeper.job import jobdir


def test_write_json_is_atomic_and_inf_safe(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    jobdir.write_json(path, {"request_rate": float("inf"), "completed": 3})
    assert json.loads(path.read_text()) == {"request_rate": "inf", "completed": 3}


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    jobdir.write_json(path, {"completed": 1})

    def half_write(tmp: Path) -> None:
        tmp.write_text('{"completed": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jobdir.atomic_write(path, half_write)
    assert json.loads(path.read_text()) == {"completed": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_copy_log_slice_takes_this_jobs_part(tmp_path: Path) -> None:
    src = tmp_path / "server.log"
    src.write_text("startup\njob1\n")
    offset = src.stat().st_size
    with src.open("a") as f:
        f.write("job2\n")
    jobdir.copy_log_slice(src, tmp_path / "job2.log", offset)
    assert (tmp_path / "job2.log").read_text() == "job2\n"
