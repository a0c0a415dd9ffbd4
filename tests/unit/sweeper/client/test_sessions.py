"""run_sessions against the in-process fake OpenAI server: history, think time, caps, warmup,
duration, failures, completions transcript."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig
from sweeper.client.sender import StopAt
from sweeper.client.session_arrivals import session_offsets
from sweeper.client.session_config import SessionLoadConfig
from sweeper.client.sessions import SessionRun, answer_of, run_sessions
from sweeper.datasets.distributions import Distribution
from sweeper.records import RequestRecord, SessionSpec, TurnSpec
from tests.unit.sweeper.client.fake_openai import FakeBehaviour, FakeOpenAI


def sessions(n: int, turns: int = 3, out: int = 3, parallel: int = 1) -> list[SessionSpec]:
    return [
        SessionSpec(
            session_id=f"s{i}",
            system="be brief",
            system_len=2,
            turns=[
                TurnSpec(
                    messages=[{"role": "user", "content": f"q{i}.{k}"}],
                    input_len=2,
                    output_len=out,
                    reference=f"ref{k}",
                    parallel=parallel if k == 1 else 1,
                )
                for k in range(turns)
            ],
        )
        for i in range(n)
    ]


def run(
    behaviour: FakeBehaviour, specs: list[SessionSpec], **load: Any
) -> tuple[SessionRun, FakeOpenAI]:
    load.setdefault("progress", False)
    load.setdefault("backend", "openai-chat")

    async def main() -> tuple[SessionRun, FakeOpenAI]:
        async with FakeOpenAI(behaviour) as server:
            return await run_sessions(server.base_url, "fake", specs, LoadConfig(**load)), server

    return asyncio.run(main())


def test_history_carries_the_servers_answers_turn_by_turn() -> None:
    result, server = run(FakeBehaviour(), sessions(2, turns=3), concurrency=1)
    assert [(r.session_id, r.turn) for r in result.records] == [
        ("s0", 0),
        ("s0", 1),
        ("s0", 2),
        ("s1", 0),
        ("s1", 1),
        ("s1", 2),
    ]
    third = server.seen.bodies[2]["messages"]
    assert third == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "q0.0"},
        {"role": "assistant", "content": "t0 t1 t2 "},
        {"role": "user", "content": "q0.1"},
        {"role": "assistant", "content": "t0 t1 t2 "},
        {"role": "user", "content": "q0.2"},
    ]
    assert all(s.complete and s.turns_done == 3 for s in result.sessions)
    # the prompt estimate grows by each answer: system 2 + 2 per question + 3 per answer
    assert [r.prompt_len for r in result.records[:3]] == [4, 9, 14]
    assert result.sessions[0].context_len == 3 + 3  # the fake reports 3 prompt tokens


def test_reference_history_and_fan_out_joined() -> None:
    result, server = run(
        FakeBehaviour(),
        sessions(1, turns=3, parallel=3),
        concurrency=1,
        sessions=SessionLoadConfig(history="reference"),
    )
    turn1 = [r for r in result.records if r.turn == 1]
    assert sorted(r.sub for r in turn1) == [0, 1, 2]
    assert len(server.seen.bodies) == 5
    last = server.seen.bodies[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "assistant"] == ["ref0", "ref1"]


def test_completions_render_a_transcript_that_extends_the_last_prompt() -> None:
    _, server = run(
        FakeBehaviour(), sessions(1, turns=2), concurrency=1, backend="openai-completions"
    )
    first, second = (b["prompt"] for b in server.seen.bodies)
    assert first == "system: be brief\nuser: q0.0\nassistant:"
    assert second == first + "t0 t1 t2 \nuser: q0.1\nassistant:"


def test_concurrency_is_active_sessions_and_in_flight_cap_holds() -> None:
    behaviour = FakeBehaviour(ttft_s=0.01)
    result, server = run(behaviour, sessions(6, turns=2, parallel=4), concurrency=3)
    assert server.seen.peak_in_flight > 3  # fan-out: more requests than sessions
    result, server = run(
        behaviour,
        sessions(6, turns=2, parallel=4),
        concurrency=3,
        sessions=SessionLoadConfig(max_in_flight=2),
    )
    assert server.seen.peak_in_flight == 2
    assert len(result.records) == 6 * 5


def test_think_time_separates_turns() -> None:
    think = SessionLoadConfig(think_time_s=Distribution(kind="fixed", mean=0.05))
    result, _ = run(FakeBehaviour(), sessions(1, turns=3), concurrency=1, sessions=think)
    recs = result.records
    gaps = [(b.t_post_ns - a.t_end_ns) / 1e9 for a, b in itertools.pairwise(recs)]
    assert all(g >= 0.05 for g in gaps), gaps


def test_warmup_sessions_run_first_and_are_flagged() -> None:
    result, _ = run(
        FakeBehaviour(),
        sessions(3, turns=2),
        concurrency=2,
        sessions=SessionLoadConfig(warmup_sessions=1),
    )
    warm = [r for r in result.records if r.warmup]
    assert {r.session_id for r in warm} == {"s0"} and len(warm) == 2
    assert all(r.request_id.split("-")[-1].startswith("w") for r in warm)
    assert min(r.t_send_ns for r in result.measured) >= max(r.t_end_ns for r in warm)
    assert result.t_measure_start_ns >= max(r.t_end_ns for r in warm)
    assert [s.warmup for s in result.sessions].count(True) == 1


def test_duration_ends_sessions_cleanly() -> None:
    t0 = time.monotonic()
    result, _ = run(
        FakeBehaviour(ttft_s=0.02), sessions(2, turns=50), concurrency=2, duration_s=0.3
    )
    assert time.monotonic() - t0 < 5
    assert all(r.success for r in result.records)  # nothing was cut mid-request
    assert all(not s.complete and not s.failed for s in result.sessions)
    assert result.records and max(r.t_post_ns for r in result.records) <= result.t_start_ns + 0.3e9


def test_a_failed_turn_ends_its_session() -> None:
    result, _ = run(FakeBehaviour(fail_http={1}), sessions(2, turns=3), concurrency=1)
    assert [s.failed for s in result.sessions] == [True, False]
    assert [r.turn for r in result.records if r.session_id == "s0"] == [0, 1]


def test_open_loop_offsets_and_bad_keys() -> None:
    load = LoadConfig(request_rate=10.0, burstiness=float("inf"))
    offsets = session_offsets(load, sessions(3))
    assert offsets is not None and offsets.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert session_offsets(LoadConfig(), sessions(3)) is None
    with pytest.raises(ConfigError, match=r"^load\.warmup_requests: not supported"):
        run(FakeBehaviour(), sessions(1), warmup_requests=2)
    with pytest.raises(ConfigError, match=r"^load\.schedule: trace needs"):
        session_offsets(LoadConfig(schedule="trace"), sessions(1))


def test_answer_of_cuts_reasoning() -> None:
    rec = RequestRecord(index=0, request_id="x", prompt_len=1, expected_output_len=1)
    rec.generated_text, rec.reasoning_chars = "<think>hm</think>the answer", 17
    assert answer_of(rec) == "the answer"


def test_open_loop_starts_sessions_at_their_arrivals_and_trace_times() -> None:
    result, _ = run(FakeBehaviour(), sessions(3, turns=2), request_rate=10.0,
                    burstiness=float("inf"))  # fmt: skip
    starts = sorted(s.t_start_ns for s in result.sessions)
    assert [round((t - result.t_start_ns) / 1e9, 1) for t in starts] == [0.1, 0.2, 0.3]
    timed = sessions(2, turns=2)
    timed[0].arrival_s, timed[1].arrival_s = 0.0, 0.4
    timed[1].turns[1].delay_s = 0.2  # a trace's own gap wins over the think time
    result, _ = run(FakeBehaviour(), timed, schedule="trace", trace_speedup=2.0)
    _, second = sorted(result.sessions, key=lambda s: s.t_start_ns)
    assert 0.18 < (second.t_start_ns - result.t_start_ns) / 1e9 < 0.3
    b = [r for r in result.records if r.session_id == "s1"]
    assert (b[1].t_post_ns - b[0].t_end_ns) / 1e9 >= 0.2


def test_the_job_deadline_cancels_turns_in_flight_and_keeps_the_rest() -> None:
    async def main() -> SessionRun:
        async with FakeOpenAI(FakeBehaviour(ttft_s=0.05, itl_s=0.02)) as server:
            load = LoadConfig(backend="openai-chat", progress=False, concurrency=2)
            stop = StopAt(time.monotonic_ns() + 800_000_000, "job_timeout_s=1 reached")
            return await run_sessions(server.base_url, "fake", sessions(2, turns=20), load, stop)

    result = asyncio.run(main())
    assert result.stopped_reason == "job_timeout_s=1 reached"
    cut = [r for r in result.records if not r.success]
    assert cut and all(r.error == "cancelled: job_timeout_s=1 reached" for r in cut)
    assert any(r.success for r in result.records)
    assert all(r.t_post_ns for r in result.records)  # nothing unsent is recorded
