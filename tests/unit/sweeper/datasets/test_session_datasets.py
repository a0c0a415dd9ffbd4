"""The multi-turn dataset kinds: good inputs, determinism, token-exact lengths, and bad files
rejected in one line naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from instruments.errors import ConfigError
from sweeper.datasets import load_tokenizer, sample_sessions, validate
from sweeper.datasets.distributions import Distribution
from sweeper.datasets.kinds.agentic import AgenticDatasetConfig
from sweeper.datasets.kinds.conversations import ConversationsDatasetConfig
from sweeper.datasets.kinds.conversations_jsonl import ConversationsJsonlDatasetConfig
from sweeper.datasets.kinds.session_trace import SessionTraceDatasetConfig
from sweeper.datasets.kinds.sharegpt import ShareGPTDatasetConfig
from sweeper.datasets.tokenizer import count_tokens


def one_line_error(cfg: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        validate(cfg)
    assert "\n" not in str(err.value)


def write_jsonl(path: Path, rows: list[Any]) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_distributions_are_seeded_and_clipped() -> None:
    rng = np.random.default_rng(0)
    assert Distribution("fixed", 5).draw_ints(rng, 3) == [5, 5, 5]
    values = Distribution("uniform", 10, 4, min=8).draw(np.random.default_rng(1), 1000)
    assert values.min() >= 8 and values.max() <= 14
    logn = Distribution("lognormal", 100, 0.5).draw(np.random.default_rng(2), 20000)
    assert abs(logn.mean() - 100) < 3  # the mean is the mean, not the median
    again = Distribution("lognormal", 100, 0.5).draw(np.random.default_rng(2), 20000)
    assert (logn == again).all()
    with pytest.raises(ConfigError, match=r"^k\.max: must be >= k\.min"):
        Distribution("fixed", 1, min=5, max=2).check("k")


def test_conversations_token_exact_with_a_tokenizer(tiny_tokenizer_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_tokenizer_dir))
    cfg = ConversationsDatasetConfig(
        system_len=40,
        input_len=Distribution("uniform", 30, 10),
        turns=Distribution("uniform", 4, 2),
    )
    got = sample_sessions(cfg, 5, tok)
    again = sample_sessions(cfg, 5, tok)
    assert [[t.messages for t in s.turns] for s in got] == [
        [t.messages for t in s.turns] for s in again
    ]
    assert len({s.system for s in got}) == 1 and got[0].system_len == 40
    assert count_tokens(tok, got[0].system) == 40
    for s in got:
        assert 2 <= len(s.turns) <= 6
        for t in s.turns:
            assert count_tokens(tok, t.messages[0]["content"]) == t.input_len
            assert 20 <= t.input_len <= 40 and t.output_len == 64
    own = sample_sessions(ConversationsDatasetConfig(system_len=8, shared_system=False), 3, None)
    assert len({s.system for s in own}) == 3
    one_line_error(
        ConversationsDatasetConfig(input_len=Distribution("lognormal", 0, 1)),
        r"^dataset\.input_len\.mean: must be > 0 for a lognormal",
    )


def test_agentic_steps_fan_out_and_shared_tools() -> None:
    cfg = AgenticDatasetConfig(
        system_len=300, steps=Distribution("fixed", 6), fan_out=4, fan_out_share=0.5, seed=3
    )
    got = sample_sessions(cfg, 4, None)
    assert all(len(s.turns) == 7 for s in got)  # the task, then 6 steps
    assert len({s.system for s in got}) == 1 and got[0].system.startswith("You are an agent")
    fans = [t.parallel for s in got for t in s.turns[1:]]
    assert set(fans) == {1, 4} and all(s.turns[0].parallel == 1 for s in got)
    assert all(t.output_len == 32 and t.input_len == 512 for s in got for t in s.turns[1:])
    assert [t.parallel for t in sample_sessions(cfg, 4, None)[0].turns] == [
        t.parallel for t in got[0].turns
    ]
    one_line_error(AgenticDatasetConfig(fan_out_share=0.5), r"^dataset\.fan_out: must be > 1")


def test_conversations_jsonl_turns_and_output_lens(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "id": "a",
                "messages": [
                    {"role": "system", "content": "sys"},
                    {"role": "user", "content": "hello there"},
                    {"role": "assistant", "content": "hi, how can I help", "output_len": 7},
                    {"role": "user", "content": "tell me more"},
                    {"role": "assistant", "content": "some more words here"},
                    {"role": "user", "content": "and the last"},
                ],
            },
            {"messages": [{"role": "user", "content": "only one"}]},
        ],
    )
    cfg = ConversationsJsonlDatasetConfig(path=path, output_len=9)
    validate(cfg)
    a, b = sample_sessions(cfg, 2, None)
    assert a.session_id == "a" and a.system == "sys" and b.session_id == "l2"
    assert [t.output_len for t in a.turns] == [7, count_tokens(None, "some more words here"), 9]
    assert [t.reference for t in a.turns] == ["hi, how can I help", "some more words here", ""]
    assert [t.output_len for t in b.turns] == [9]
    cycled = sample_sessions(cfg, 5, None)
    assert len({s.session_id for s in cycled}) == 5
    assert (
        len(
            sample_sessions(ConversationsJsonlDatasetConfig(path=path, max_turns=1), 1, None)[
                0
            ].turns
        )
        == 1
    )


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("{not json", r":1: invalid JSON"),
        ({"messages": "hi"}, r":1: 'messages' must be a non-empty list"),
        (
            {"messages": [{"role": "bot", "content": "x"}]},
            r":1: messages\[0\]\.role must be one of",
        ),
        (
            {"messages": [{"role": "user", "content": 3}]},
            r":1: messages\[0\]\.content must be a string",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            r":1: message 1 should be 'assistant' \(turns alternate\), got 'user'",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b", "output_len": 0},
                ]
            },
            r":1: messages\[1\]\.output_len must be an integer >= 1",
        ),
    ],
)
def test_conversations_jsonl_bad_files(tmp_path: Path, row: Any, match: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    one_line_error(ConversationsJsonlDatasetConfig(path=path), f"^{path}{match}")


def write_sharegpt(path: Path) -> str:
    convs = [
        {
            "conversations": [
                {"from": "human", "value": f"question {i} " + "word " * 20},
                {"from": "gpt", "value": "answer " * 30},
                {"from": "human", "value": "follow up " * 10},
                {"from": "gpt", "value": "more " * 25},
                {"from": "human", "value": "tiny"},  # under min_len: the session ends before it
                {"from": "gpt", "value": "reply " * 10},
            ]
        }
        for i in range(6)
    ]
    convs.append(
        {
            "conversations": [
                {"from": "gpt", "value": "out of turn " * 10},
                {"from": "human", "value": "x " * 20},
            ]
        }
    )
    path.write_text(json.dumps(convs))
    return str(path)


def test_sharegpt_all_turns_as_sessions(tmp_path: Path) -> None:
    path = write_sharegpt(tmp_path / "sg.json")
    cfg = ShareGPTDatasetConfig(path=path, turns="all")
    assert cfg.is_sessions() and not ShareGPTDatasetConfig(path=path).is_sessions()
    validate(cfg)
    got = sample_sessions(cfg, 6, None)
    assert {len(s.turns) for s in got} == {2}  # the third pair is cut by min_len
    assert got[0].turns[1].reference.startswith("more")
    assert [s.session_id for s in got] == [s.session_id for s in sample_sessions(cfg, 6, None)]
    assert "s6" not in {s.session_id for s in sample_sessions(cfg, 10, None)}  # out of turn
    capped = ShareGPTDatasetConfig(path=path, turns="all", max_turns=1)
    assert {len(s.turns) for s in sample_sessions(capped, 3, None)} == {1}
    tight = ShareGPTDatasetConfig(path=path, turns="all", max_context_len=100)
    assert {len(s.turns) for s in sample_sessions(tight, 3, None)} == {1}
    one_line_error(
        ShareGPTDatasetConfig(path=path, turns="many"), r"^dataset\.turns: must be one of"
    )


def test_session_trace_replay(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"session_id": "b", "timestamp": 2.0, "input_len": 12, "output_len": 4},
            {"session_id": "a", "timestamp": 0.5, "prompt": "hello world", "output_len": 3},
            {"session_id": "a", "timestamp": 3.5, "input_len": 8, "output_len": 2},
            {"session_id": "a", "timestamp": 9.0, "input_len": 8, "output_len": 2, "delay_s": 1.25},
        ],
    )
    cfg = SessionTraceDatasetConfig(path=path)
    validate(cfg)
    a, b = sample_sessions(cfg, 10, None)
    assert (a.session_id, a.arrival_s, b.session_id, b.arrival_s) == ("a", 0.5, "b", 2.0)
    assert [t.delay_s for t in a.turns] == [None, 3.0, 1.25]
    assert [t.input_len for t in a.turns] == [count_tokens(None, "hello world"), 8, 8]
    assert [t.output_len for t in a.turns] == [3, 2, 2]
    assert len(sample_sessions(cfg, 1, None)) == 1


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ({"timestamp": 1, "input_len": 3}, r":1: missing field session_id"),
        (
            {"session_id": "a", "timestamp": "soon", "input_len": 3},
            r":1: timestamp is not a number",
        ),
        ({"session_id": "a", "timestamp": -1, "input_len": 3}, r":1: timestamp must be >= 0"),
        ({"session_id": "a", "timestamp": 1}, r":1: needs a prompt or an input_len"),
        (
            {"session_id": "a", "timestamp": 1, "input_len": 2.5},
            r":1: input_len must be a non-negative integer",
        ),
    ],
)
def test_session_trace_bad_files(tmp_path: Path, row: Any, match: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    one_line_error(SessionTraceDatasetConfig(path=path), f"^{path}{match}")
