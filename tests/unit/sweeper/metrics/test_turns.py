"""Per-turn, per-session and reasoning figures: the formulas on hand-built records."""

from __future__ import annotations

import pytest

from sweeper.client.config import LoadConfig
from sweeper.client.sessions import SessionResult, SessionRun
from sweeper.metrics import reasoning
from sweeper.metrics.turns import cache_hit_rate, turn_metrics
from sweeper.records import RequestRecord

MS = 1_000_000


def rec(
    turn: int,
    ttft: int,
    end: int,
    out: int,
    prompt: int,
    cached: int | None = None,
    session: str = "a",
    warmup: bool = False,
) -> RequestRecord:
    r = RequestRecord(
        index=0,
        request_id="r",
        prompt_len=prompt,
        expected_output_len=out,
        output_len=out,
        success=True,
        t_send_ns=0,
        t_first_token_ns=ttft * MS,
        t_end_ns=end * MS,
        session_id=session,
        turn=turn,
        server_cached_tokens=cached,
        warmup=warmup,
    )
    r.chunk_times_ns = [ttft * MS] + [end * MS] * (out - 1)
    r.chunk_tokens = [1] * out
    return r


def session_run(records: list[RequestRecord], sessions: list[SessionResult]) -> SessionRun:
    return SessionRun(
        records,
        0,
        2000 * MS,
        "m",
        LoadConfig(),
        t_measure_start_ns=0,
        sessions=sessions,
        prefix_cache_hits=30.0,
        prefix_cache_queries=40.0,
    )


def test_by_turn_first_vs_later_and_hit_rates() -> None:
    records = [
        rec(0, 100, 200, 11, 100, cached=0),
        rec(0, 300, 400, 11, 100, cached=50, session="b"),
        rec(1, 20, 120, 11, 200, cached=150),
        rec(1, 40, 140, 11, 200, cached=190, session="b"),
        rec(0, 999, 1000, 2, 10, warmup=True, session="w"),
    ]
    out = turn_metrics(session_run(records, []), [50.0])
    t0, t1 = out["by_turn"]["0"], out["by_turn"]["1"]
    assert (t0["completed"], t0["mean_ttft_ms"], t0["mean_tpot_ms"]) == (2, 200.0, 10.0)
    assert (t1["mean_ttft_ms"], t1["mean_e2el_ms"], t1["mean_prompt_len"]) == (30.0, 130.0, 200.0)
    assert t0["prefix_cache_hit_rate"] == pytest.approx(50 / 200)
    assert t1["prefix_cache_hit_rate"] == pytest.approx(340 / 400)
    assert out["first_turn_mean_ttft_ms"] == 200.0 and out["later_turns_median_ttft_ms"] == 30.0
    assert out["later_turns_mean_tpot_ms"] == 10.0
    assert out["server_prefix_cache_hit_rate"] == 0.75  # the measured phase's counters


def test_hit_rate_only_where_the_server_told() -> None:
    assert cache_hit_rate([rec(0, 1, 2, 2, 10)]) is None
    told = rec(0, 1, 2, 2, 10, cached=5)
    told.server_prompt_len = 20  # the server's count wins over the estimate
    assert cache_hit_rate([told, rec(0, 1, 2, 2, 10)]) == 0.25


def test_session_latency_throughput_and_context() -> None:
    done = SessionResult(
        "a", False, 2, turns_done=2, t_start_ns=0, t_end_ns=500 * MS, context_len=300
    )
    cut = SessionResult(
        "b", False, 3, turns_done=1, t_start_ns=0, t_end_ns=100 * MS, context_len=120
    )
    failed = SessionResult("c", False, 3, turns_done=0, failed=True)
    warm = SessionResult("w", True, 1, turns_done=1, t_start_ns=0, t_end_ns=9000 * MS)
    out = turn_metrics(session_run([rec(0, 1, 2, 2, 10)], [done, cut, failed, warm]), [90.0])
    assert (out["sessions_started"], out["sessions_completed"]) == (3, 1)
    assert (out["sessions_failed"], out["sessions_cut_short"]) == (1, 1)
    assert out["session_throughput"] == 0.5  # 1 complete session in 2 s
    assert out["mean_session_latency_ms"] == 500.0
    assert out["max_context_len"] == 300 and out["mean_turns_per_session"] == 1.0


def reasoned(answer_chunk: int) -> RequestRecord:
    """10 chunks of 1 token at 100, 110, ... 190 ms; send at 0."""
    r = RequestRecord(
        index=0,
        request_id="r",
        prompt_len=5,
        expected_output_len=10,
        output_len=10,
        success=True,
        reasoning=True,
        answer_chunk=answer_chunk,
    )
    r.chunk_times_ns = [(100 + 10 * i) * MS for i in range(10)]
    r.chunk_tokens = [1] * 10
    r.t_first_token_ns, r.t_end_ns = r.chunk_times_ns[0], r.chunk_times_ns[-1]
    return r


def test_reasoning_formulas() -> None:
    r = reasoned(answer_chunk=6)
    assert (reasoning.reasoning_tokens(r), reasoning.answer_tokens(r)) == (6, 4)
    assert reasoning.first_reasoning_ms(r) == 100.0
    assert reasoning.first_answer_ms(r) == 160.0
    assert reasoning.reasoning_tpot_ms(r) == pytest.approx(50 / 5)  # 100 → 150 over 5 gaps
    assert reasoning.answer_tpot_ms(r) == pytest.approx(30 / 3)  # 160 → 190 over 3 gaps
    cut = reasoned(answer_chunk=-1)  # reasoned to the end: no answer
    assert (reasoning.reasoning_tokens(cut), reasoning.first_answer_ms(cut)) == (10, None)
    assert reasoning.answer_tpot_ms(cut) is None
    plain = reasoned(answer_chunk=-1)
    plain.reasoning = False  # no reasoning: the answer is the whole output, TTFA = TTFT
    assert reasoning.first_answer_ms(plain) == 100.0 and reasoning.first_reasoning_ms(plain) is None


def test_reasoning_block_only_when_some_request_reasoned() -> None:
    plain = rec(0, 1, 2, 2, 10)
    plain.turn = -1
    run = SessionRun([plain], 0, MS, "m", LoadConfig())
    assert turn_metrics(run, [50.0]) == {}
    run.records.append(reasoned(answer_chunk=6))
    out = turn_metrics(run, [50.0])
    assert out["reasoning_requests"] == 1 and out["total_reasoning_tokens"] == 6
    assert out["total_answer_tokens"] == 4 + 2
    assert out["mean_time_to_first_answer_ms"] == (160.0 + 1.0) / 2
