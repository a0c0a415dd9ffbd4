"""+experiment=multi_turn and +experiment=agentic end to end on the simulator, and a reasoning
run: per-turn figures in result.json, requests.parquet and MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, job_metrics, run_ok


def test_multi_turn_preset_caching_off_vs_on(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    # the default profile: prefill costs ~0.03 ms a token, so a cached history shows in TTFT
    results = run_ok(
        sweep,
        "+experiment=multi_turn",
        "num_prompts=4",
        "concurrency=2",
        "dataset.turns.mean=4",
        "dataset.output_len.mean=8",
        "load.progress=false",
        "print_result=false",
    )
    off, on = (r["sweeper"] for r in results)
    for s in (off, on):
        assert s["sessions_completed"] == 4 and s["mean_turns_per_session"] == 4
        assert sorted(s["by_turn"]) == ["0", "1", "2", "3"]
        assert s["session_throughput"] > 0 and s["max_context_len"] > 4 * 128
    assert off["server_prefix_cache_queries"] == 0
    rates = [on["by_turn"][k]["prefix_cache_hit_rate"] for k in ("0", "1", "2", "3")]
    assert rates == sorted(rates) and rates[-1] > 0.8, rates  # the history is the prefix
    assert on["server_prefix_cache_hit_rate"] > 0.5
    assert on["later_turns_mean_ttft_ms"] < off["later_turns_mean_ttft_ms"]
    frame = pd.read_parquet(sweep.sweep_dir / "1" / "requests.parquet")
    measured = frame[~frame["warmup"]]
    assert len(measured) == 16 and set(measured["turn"]) == {0, 1, 2, 3}
    # each turn's prompt is the last one plus its answer plus the new message (history)
    for _, rows in measured.sort_values("turn").groupby("session_id"):
        prompts, outs = rows["server_prompt_len"].tolist(), rows["output_len"].tolist()
        assert all(b > a + o for a, b, o in zip(prompts, prompts[1:], outs, strict=False))
    m_off, m_on = job_metrics(sweep)
    assert m_on["sweeper.by_turn.3.mean_ttft_ms"] == on["by_turn"]["3"]["mean_ttft_ms"]
    assert "sweeper.session_throughput" in m_off


def test_agentic_preset_fans_out(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep,
        "+experiment=agentic",
        "num_prompts=3",
        "dataset.system_len=256",
        "dataset.fan_out_share=0.5",
        *FAST,
    )
    assert all(r["sweeper"]["sessions_completed"] == 3 for r in results)
    assert results[1]["sweeper"]["server_prefix_cache_hit_rate"] > 0.5
    frame = pd.read_parquet(sweep.sweep_dir / "1" / "requests.parquet")
    width = frame.groupby(["session_id", "turn"]).size()
    assert set(width) == {1, 3} and len(frame) == results[1]["completed"]  # fanned-out steps


def test_reasoning_run_splits_ttft_and_first_answer(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    (result,) = run_ok(
        sweep,
        "load=chat",
        "num_prompts=8",
        "concurrency=4",
        "dataset.input_len=32",
        "dataset.output_len=24",
        "+server.reasoning_tokens=16",
        *FAST,
    )
    s = result["sweeper"]
    assert s["reasoning_requests"] == 8 and s["answered_after_reasoning"] == 8
    assert s["total_reasoning_tokens"] == 8 * 16 and s["total_answer_tokens"] == 8 * 8
    assert s["mean_time_to_first_reasoning_ms"] == result["mean_ttft_ms"]
    assert s["mean_time_to_first_answer_ms"] > result["mean_ttft_ms"]
    frame = pd.read_parquet(sweep.sweep_dir / "0" / "requests.parquet")
    assert (frame["reasoning_tokens"] == 16).all()
    # a first chunk may carry reasoning and answer at once (tokens that waited for the headers)
    assert (frame["ttfa_ms"] >= frame["ttft_ms"]).all() and (
        frame["ttfa_ms"] > frame["ttft_ms"]
    ).any()
