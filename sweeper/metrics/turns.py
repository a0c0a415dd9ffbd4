"""Figures of multi-turn runs (per turn, per session) and of reasoning responses, for
result.json's `sweeper` block (and so MLflow, as dotted keys: `sweeper.by_turn.2.mean_ttft_ms`).

Per turn (turn index k, 0-based; a fan-out turn's sub-requests all count under k):
`by_turn.<k>` = completed, TTFT statistics, mean TPOT and E2EL, mean prompt tokens (the
server's count where given), and the turn's prefix-cache hit rate = sum of the server's
`cached_tokens` / sum of prompt tokens over the turn's requests (where the server reports
usage.prompt_tokens_details; vLLM: --enable-prompt-tokens-details). `first_turn_*` and
`later_turns_*` split the same statistics at k = 0.

Per session: a session's latency is from its first request's send to its last request's end,
think times included; sessions/s = completed sessions / measured duration; the context length
reached is the last request's prompt plus output tokens. `server_prefix_cache_hit_rate` of a
session run is the server's counters over the measured phase only (read just before and after
it: warmup excluded), not the whole scrape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sweeper.metrics.per_request import e2el_ms, tpot_ms, ttft_ms
from sweeper.metrics.reasoning import (
    answer_tokens,
    answer_tpot_ms,
    first_answer_ms,
    first_reasoning_ms,
    reasoning_tokens,
    reasoning_tpot_ms,
)
from sweeper.metrics.summary import stats
from sweeper.records import RequestRecord

if TYPE_CHECKING:
    from sweeper.client.benchmark_run import BenchmarkRun


def turn_metrics(run: BenchmarkRun, percentiles: list[float]) -> dict[str, Any]:
    """Session and reasoning figures of `run` (empty for a single-shot run without reasoning)."""
    ok = [r for r in run.measured if r.success]
    out: dict[str, Any] = {}
    if any(r.turn >= 0 for r in run.records):
        out.update(per_turn(ok, percentiles))
        out.update(session_figures(run, percentiles))
    if any(r.reasoning for r in ok):
        out.update(reasoning_figures(ok, percentiles))
    return out


def prompt_tokens(rec: RequestRecord) -> int:
    return rec.server_prompt_len if rec.server_prompt_len is not None else rec.prompt_len


def cache_hit_rate(recs: list[RequestRecord]) -> float | None:
    """Cached / prompt tokens over the requests whose server reported cached tokens."""
    told = [r for r in recs if r.server_cached_tokens is not None]
    prompt = sum(prompt_tokens(r) for r in told)
    if not told or prompt <= 0:
        return None
    return sum(r.server_cached_tokens or 0 for r in told) / prompt


def _group(recs: list[RequestRecord], percentiles: list[float]) -> dict[str, Any]:
    tpots = [t for r in recs if (t := tpot_ms(r)) is not None]
    row: dict[str, Any] = {"completed": len(recs)}
    row.update(stats("ttft_ms", [ttft_ms(r) for r in recs], percentiles))
    row["mean_tpot_ms"] = float(np.mean(tpots)) if tpots else 0.0
    row["mean_e2el_ms"] = float(np.mean([e2el_ms(r) for r in recs])) if recs else 0.0
    row["mean_prompt_len"] = float(np.mean([prompt_tokens(r) for r in recs])) if recs else 0.0
    if (rate := cache_hit_rate(recs)) is not None:
        row["prefix_cache_hit_rate"] = rate
    return row


def per_turn(ok: list[RequestRecord], percentiles: list[float]) -> dict[str, Any]:
    by_turn: dict[int, list[RequestRecord]] = {}
    for r in ok:
        by_turn.setdefault(r.turn, []).append(r)
    out: dict[str, Any] = {
        "by_turn": {str(k): _group(v, percentiles) for k, v in sorted(by_turn.items())}
    }
    first = by_turn.get(0, [])
    later = [r for r in ok if r.turn > 0]
    for name, recs in (("first_turn", first), ("later_turns", later)):
        tpots = [t for r in recs if (t := tpot_ms(r)) is not None]
        for key, values in (
            ("ttft_ms", [ttft_ms(r) for r in recs]),
            ("tpot_ms", tpots),
            ("e2el_ms", [e2el_ms(r) for r in recs]),
        ):
            out.update({f"{name}_{k}": v for k, v in stats(key, values, percentiles).items()})
    return out


def session_figures(run: BenchmarkRun, percentiles: list[float]) -> dict[str, Any]:
    sessions = [s for s in getattr(run, "sessions", []) if not s.warmup]
    duration_s = max(run.t_end_ns - run.t_measure_start_ns, 1) / 1e9
    complete = [s for s in sessions if s.complete]
    out: dict[str, Any] = {
        "sessions_started": len(sessions),
        "sessions_completed": len(complete),
        "sessions_failed": sum(1 for s in sessions if s.failed),
        "sessions_cut_short": sum(1 for s in sessions if not s.failed and not s.complete),
        "session_throughput": len(complete) / duration_s,
        "mean_turns_per_session": float(np.mean([s.turns_done for s in sessions]))
        if sessions
        else 0.0,
        "max_context_len": max((s.context_len for s in sessions), default=0),
        "mean_context_len": float(np.mean([s.context_len for s in sessions])) if sessions else 0.0,
    }
    latency = [(s.t_end_ns - s.t_start_ns) / 1e6 for s in complete]
    out.update(stats("session_latency_ms", latency, percentiles))
    hits, queries = (
        getattr(run, "prefix_cache_hits", None),
        getattr(run, "prefix_cache_queries", None),
    )
    if hits is not None and queries is not None:
        out["server_prefix_cache_hits"] = hits
        out["server_prefix_cache_queries"] = queries
        if queries > 0:
            out["server_prefix_cache_hit_rate"] = hits / queries
    return out


def reasoning_figures(ok: list[RequestRecord], percentiles: list[float]) -> dict[str, Any]:
    def present(values: list[float | None]) -> list[float]:
        return [v for v in values if v is not None]

    reasoned = [r for r in ok if r.reasoning]
    n_reason = sum(reasoning_tokens(r) for r in ok)
    n_answer = sum(answer_tokens(r) for r in ok)
    out: dict[str, Any] = {
        "reasoning_requests": len(reasoned),
        "answered_after_reasoning": sum(1 for r in reasoned if r.answer_chunk >= 0),
        "total_reasoning_tokens": n_reason,
        "total_answer_tokens": n_answer,
        "mean_reasoning_tokens": n_reason / len(ok),
        "mean_answer_tokens": n_answer / len(ok),
    }
    for name, values in (
        ("time_to_first_reasoning_ms", present([first_reasoning_ms(r) for r in ok])),
        ("time_to_first_answer_ms", present([first_answer_ms(r) for r in ok])),
        ("reasoning_tpot_ms", present([reasoning_tpot_ms(r) for r in ok])),
        ("answer_tpot_ms", present([answer_tpot_ms(r) for r in ok])),
    ):
        out.update(stats(name, values, percentiles))
    return out
