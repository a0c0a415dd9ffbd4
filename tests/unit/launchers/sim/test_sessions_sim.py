"""The simulator's multi-turn support: decoded blocks enter the prefix cache (so a history
that re-sends an answer hits it block by block), reasoning deltas, cached-token usage."""

from __future__ import annotations

import json
from dataclasses import replace

from launchers.sim.kv_cache import REASONING_KEY, block_hashes, decode_hashes
from launchers.sim.openai_api import ResponseShaper
from launchers.sim.profiles import FAST
from launchers.sim.scheduler import Scheduler, SimRequest

TOK = 7  # the key of one generated token


def request(rid: str, keys: list[int], out: int, reasoning: int = 0) -> SimRequest:
    hashes = block_hashes(keys, 16)
    return SimRequest(
        rid,
        len(keys),
        out,
        "length",
        arrival_ns=0,
        block_hashes=hashes,
        tail_keys=keys[len(hashes) * 16 :],
        output_keys=[TOK],
        num_reasoning=reasoning,
    )


def run_all(s: Scheduler) -> None:
    now = 0
    while s.has_work():
        plan = s.schedule(now)
        now += 1
        s.finish_step(plan, now)


def test_decode_hashes_continue_the_prompt_chain() -> None:
    prompt = list(range(40))  # 2 full blocks and a tail of 8
    out = 30
    full = block_hashes(prompt + [TOK] * (out - 1), 16)
    got = decode_hashes(block_hashes(prompt, 16), prompt[32:], [TOK], 0, out, 16)
    assert block_hashes(prompt, 16) + got == full
    with_reasoning = decode_hashes(block_hashes(prompt, 16), prompt[32:], [TOK], 10, out, 16)
    assert with_reasoning != got
    keys = prompt[32:] + [REASONING_KEY] * 10 + [TOK] * 19
    assert with_reasoning == block_hashes(keys, 16, block_hashes(prompt, 16)[-1])


def test_the_next_turn_hits_the_answer_blocks() -> None:
    s = Scheduler(replace(FAST, enable_prefix_caching=True))
    first = list(range(100, 140))
    turn1 = request("t1", first, out=40)
    s.add(turn1)
    run_all(s)
    history = first + [TOK] * 40 + list(range(500, 520))  # prompt + answer + next question
    turn2 = request("t2", history, out=4)
    s.add(turn2)
    run_all(s)
    # 40 + 39 tokens were in the cache: 4 full blocks (64 tokens), past the prompt's 2
    assert turn2.cached_tokens == 64
    off = Scheduler(replace(FAST, enable_prefix_caching=True))
    plain = request("t1", first, out=40)
    plain.output_keys = []  # the old behaviour: prompt blocks only
    off.add(plain)
    run_all(off)
    again = request("t2", history, out=4)
    off.add(again)
    run_all(off)
    assert again.cached_tokens == 32


def test_reasoning_deltas_then_content_and_cached_usage() -> None:
    shaper = ResponseShaper(True, "m", " tok", 7, reasoning_tokens=3, prompt_details=True)
    obj = json.loads(shaper.chunk(2, None, first=True, usage_tokens=None, reasoning=2)[6:])
    assert obj["choices"][0]["delta"] == {"role": "assistant", "reasoning": " tok tok"}
    mixed = json.loads(shaper.chunk(2, None, first=False, usage_tokens=None, reasoning=1)[6:])
    assert mixed["choices"][0]["delta"] == {"reasoning": " tok", "content": " tok"}
    usage = json.loads(shaper.usage_chunk(5, cached=16)[6:])["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 16}
    full = shaper.full(5, "length", cached=0)
    assert full["choices"][0]["message"]["reasoning"] == " tok" * 3
    assert full["choices"][0]["message"]["content"] == " tok" * 2
    plain = ResponseShaper(False, "m", " tok", 7, reasoning_tokens=3)  # completions: no split
    assert plain.reasoning_tokens == 0 and "prompt_tokens_details" not in plain.usage(1, 4)
