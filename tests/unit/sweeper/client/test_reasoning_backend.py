"""The OpenAI backends tell reasoning from the answer: chat reasoning deltas, think tags,
cached prompt tokens from the final usage."""

from __future__ import annotations

import json
from typing import Any

from sweeper.client.backends import StreamState, get_backend
from sweeper.client.backends.base import finish
from sweeper.client.config import LoadConfig, ReasoningConfig
from sweeper.client.sessions import answer_of
from sweeper.records import RequestRecord


def stream(backend_name: str, events: list[dict[str, Any]], **load: Any) -> RequestRecord:
    backend = get_backend(backend_name)("m", LoadConfig(backend=backend_name, **load))
    rec = RequestRecord(index=0, request_id="r", prompt_len=1, expected_output_len=None)
    st = StreamState()
    for i, event in enumerate(events):
        backend.on_event(json.dumps(event).encode(), 1000 + i, rec, st)
    finish(rec, st)
    return rec


def chat(**delta: str) -> dict[str, Any]:
    return {"choices": [{"delta": delta}]}


def test_chat_reasoning_deltas_then_content() -> None:
    rec = stream(
        "openai-chat",
        [
            chat(role="assistant", content=""),
            chat(reasoning="let me"),
            chat(reasoning_content=" think"),
            chat(content="The"),
            chat(content=" answer"),
            {
                "choices": [],
                "usage": {"completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 32}},
            },
        ],
        continuous_usage_stats=False,
    )
    assert rec.reasoning and rec.answer_chunk == 2
    assert rec.t_first_token_ns == 1001 and rec.chunk_times_ns[rec.answer_chunk] == 1003
    assert rec.generated_text == "let me thinkThe answer"
    assert answer_of(rec) == "The answer"
    assert rec.server_cached_tokens == 32


def test_chat_without_reasoning_is_all_answer() -> None:
    rec = stream("openai-chat", [chat(content="a"), chat(content="b")])
    assert not rec.reasoning and rec.answer_chunk == -1 and answer_of(rec) == "ab"
    assert rec.server_cached_tokens is None


def test_non_streamed_message_with_both() -> None:
    backend = get_backend("openai-chat")("m", LoadConfig(stream=False))
    rec = RequestRecord(index=0, request_id="r", prompt_len=1, expected_output_len=None)
    st = StreamState()
    body = {
        "choices": [{"message": {"reasoning": "hmm", "content": "yes"}}],
        "usage": {"completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 7}},
    }
    backend.on_response(json.dumps(body).encode(), 5, rec, st)
    finish(rec, st)
    assert rec.reasoning and rec.answer_chunk == 0 and answer_of(rec) == "yes"
    assert rec.server_cached_tokens == 7


def test_think_tags_inline_in_completions() -> None:
    tags = ReasoningConfig(think_start="<think>", think_end="</think>")
    events = [{"choices": [{"text": t}]} for t in ("<think>", "hm", "m</think>", " Yes", " no")]
    rec = stream("openai-completions", events, reasoning=tags, continuous_usage_stats=False)
    assert rec.reasoning and rec.answer_chunk == 3
    assert answer_of(rec) == " Yes no"
    # the answer already in the chunk that closes the tag
    rec = stream(
        "openai-completions",
        [{"choices": [{"text": "<think>x</think> A"}]}, {"choices": [{"text": "B"}]}],
        reasoning=tags,
        continuous_usage_stats=False,
    )
    assert rec.answer_chunk == 0 and answer_of(rec) == " AB"
    # no opening tag at the start: no reasoning phase, the tag later is just text
    rec = stream(
        "openai-completions",
        [{"choices": [{"text": "plain"}]}, {"choices": [{"text": "</think>"}]}],
        reasoning=tags,
        continuous_usage_stats=False,
    )
    assert not rec.reasoning and answer_of(rec) == "plain</think>"


def test_think_end_only_means_reasoning_from_the_first_token() -> None:
    tags = ReasoningConfig(think_end="</think>")
    rec = stream(
        "openai-chat",
        [chat(content="a"), chat(content="b</think>"), chat(content="c")],
        reasoning=tags,
        continuous_usage_stats=False,
    )
    assert rec.reasoning and rec.answer_chunk == 2 and answer_of(rec) == "c"
