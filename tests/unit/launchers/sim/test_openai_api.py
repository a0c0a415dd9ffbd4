"""Request validation and response shapes, as vLLM does them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from launchers.sim.openai_api import ApiError, ResponseShaper, natural_output_len, parse_request
from launchers.sim.prompt_tokens import PromptTokenizer


def parse(body: Any, chat: bool = False, **kw: Any) -> Any:
    args = dict(
        chat=chat,
        request_id="r",
        served_model="m",
        max_model_len=100,
        output_len_mean=20,
        seed=0,
        tokenizer=PromptTokenizer(),
        priority_enabled=False,
    )
    args.update(kw)
    return parse_request(body, **args)


def test_defaults_follow_vllm() -> None:
    completion = parse({"prompt": "a b c", "ignore_eos": True})
    assert completion.max_tokens == 16 and completion.target_output == 16
    chat = parse({"messages": [{"role": "user", "content": "a b c"}], "ignore_eos": True}, True)
    assert chat.max_tokens == 97  # the rest of the context
    assert parse({"prompt": [5, 6, 7, 8]}).prompt_keys == [5, 6, 7, 8]


def test_natural_length_is_seeded_and_clamped() -> None:
    a = parse({"prompt": "x", "max_tokens": 50})
    b = parse({"prompt": "x", "max_tokens": 50})
    assert a.target_output == b.target_output == min(natural_output_len("r", 0, 20), 50)
    assert a.final_reason == ("length" if a.target_output == 50 else "stop")
    lens = [natural_output_len(str(i), 0, 20) for i in range(2000)]
    assert 17 < sum(lens) / len(lens) < 23
    forced = parse({"prompt": "x", "max_tokens": 50, "min_tokens": 49})
    assert forced.target_output >= 49


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"prompt": "a " * 100}, 400, "prompt"),
        ({"prompt": "a b", "max_tokens": 99}, 400, "max_tokens"),
        ({"prompt": "a", "max_tokens": 0}, 400, "max_tokens"),
        ({"prompt": "a", "max_tokens": 5, "min_tokens": 6}, 400, "min_tokens"),
        ({"prompt": "a", "model": "other"}, 404, "model"),
        ({"prompt": "a", "n": 2}, 400, "n"),
        ({"prompt": "a", "temperature": -1}, 400, "temperature"),
        ({"prompt": "a", "priority": 3}, 400, "priority"),
        ({"prompt": "a", "stream_options": {"include_usage": True}}, 400, "stream_options"),
        ({"prompt": ["a", "b"]}, 400, "prompt"),
        ({}, 400, "prompt"),
    ],
)
def test_bad_requests(body: dict[str, Any], status: int, param: str) -> None:
    with pytest.raises(ApiError) as err:
        parse(body)
    assert err.value.status == status
    assert err.value.body()["error"]["param"] == param
    assert err.value.body()["error"]["code"] == status


def test_priority_accepted_when_enabled() -> None:
    assert parse({"prompt": "a", "priority": -2}, priority_enabled=True).priority == -2


def test_chunks_are_valid_sse_json() -> None:
    shaper = ResponseShaper(True, 'm"x', " tok", 7)
    first = shaper.chunk(2, None, first=True, usage_tokens=2)
    assert first.startswith(b"data: ") and first.endswith(b"\n\n")
    obj = json.loads(first[6:])
    assert obj["model"] == 'm"x' and obj["object"] == "chat.completion.chunk"
    assert obj["choices"][0]["delta"] == {"role": "assistant", "content": " tok tok"}
    assert obj["usage"] == {"prompt_tokens": 7, "total_tokens": 9, "completion_tokens": 2}
    last = json.loads(shaper.chunk(1, "stop", first=False, usage_tokens=None)[6:])
    assert last["choices"][0]["finish_reason"] == "stop" and "usage" not in last
    usage = json.loads(shaper.usage_chunk(3)[6:])
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3
    full = ResponseShaper(False, "m", " tok", 7).full(3, "length")
    assert full["choices"][0]["text"] == " tok tok tok"
    assert full["usage"]["total_tokens"] == 10
