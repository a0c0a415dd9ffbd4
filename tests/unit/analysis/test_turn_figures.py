"""The multi-turn panels: TTFT and hit rate by turn per job, session latency CDF."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.figures_turns import turn_figures
from analysis.job_files import JobRef


def job(tmp_path: Path, name: str, rows: list[dict]) -> JobRef:
    folder = tmp_path / name
    folder.mkdir()
    frame = pd.DataFrame(rows)
    frame["server_cached_tokens"] = frame["server_cached_tokens"].astype("Int64")
    frame["server_prompt_len"] = frame["server_prompt_len"].astype("Int64")
    frame.to_parquet(folder / "requests.parquet")
    return JobRef(int(name[-1]), name, str(folder), None, None)


def row(
    session: str,
    turn: int,
    ttft: float,
    cached: int | None,
    prompt: int,
    send: int,
    end: int,
    ok: bool = True,
    warmup: bool = False,
) -> dict:
    return {
        "session_id": session,
        "turn": turn,
        "ttft_ms": ttft,
        "server_cached_tokens": cached,
        "server_prompt_len": prompt,
        "prompt_len": prompt,
        "t_send_ns": send,
        "t_end_ns": end,
        "success": ok,
        "warmup": warmup,
    }


def test_turn_panels_and_session_cdf(tmp_path: Path) -> None:
    on = job(
        tmp_path,
        "job1",
        [
            row("a", 0, 10.0, 0, 100, 0, 1_000_000),
            row("a", 1, 4.0, 150, 200, 2_000_000, 5_000_000),
            row("b", 0, 20.0, 50, 100, 0, 2_000_000),
            row("b", 1, 6.0, 190, 200, 3_000_000, 9_000_000),
            row("w", 0, 99.0, 0, 100, 0, 1, warmup=True),
            row("c", 0, 30.0, 0, 100, 0, 1_000_000),
            row("c", 1, 1.0, 0, 200, 0, 7, ok=False),
        ],
    )
    single = job(tmp_path, "job2", [row("", -1, 5.0, None, 10, 0, 1)])
    turns, sessions = turn_figures([on, single])
    ttft = turns.panel("median TTFT by turn").series
    assert [s.name for s in ttft] == ["job1"]  # the single-shot job draws nothing
    assert ttft[0].x == [0.0, 1.0] and ttft[0].y == [20.0, 5.0]
    hits = turns.panel("prefix-cache hit rate by turn").series[0]
    assert hits.y == pytest.approx([50 / 300, 340 / 400])
    cdf = sessions.panel("session latency").series[0]
    assert cdf.x == [5.0, 9.0] and cdf.y == [0.5, 1.0]  # c failed a turn: left out
    assert turn_figures([single]) == []
