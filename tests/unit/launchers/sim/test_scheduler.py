"""The V1-like scheduler driven step by step, without a clock."""

from __future__ import annotations

from dataclasses import replace

from launchers.sim.kv_cache import block_hashes
from launchers.sim.profiles import FAST, SimParams
from launchers.sim.scheduler import Scheduler, SimRequest, Status


def make(rid: str, prompt: int, out: int, keys: list[int] | None = None, **kw: int) -> SimRequest:
    hashes = block_hashes(keys, 16) if keys else []
    return SimRequest(rid, prompt, out, "length", arrival_ns=0, block_hashes=hashes, **kw)


def run_all(s: Scheduler, limit: int = 10_000) -> int:
    steps = 0
    now = 0
    while s.has_work() and steps < limit:
        plan = s.schedule(now)
        now += 1
        s.finish_step(plan, now)
        steps += 1
    return steps


def params(**kw: object) -> SimParams:
    return replace(FAST, **kw)


def test_chunked_prefill_shares_one_token_budget() -> None:
    s = Scheduler(params(max_num_batched_tokens=300, max_num_seqs=8))
    a, b = make("a", 256, 4), make("b", 256, 4)
    s.add(a)
    s.add(b)
    plan = s.schedule(0)
    assert [(r.request_id, n) for r, n in plan.scheduled] == [("a", 256), ("b", 44)]
    assert plan.prefill_tokens == 300 and plan.decode_seqs == 0
    produced = s.finish_step(plan, 1)
    assert produced == [a] and a.num_output == 1 and b.num_output == 0
    assert b.num_computed == 44
    plan = s.schedule(1)
    # a decodes one token, b continues its prefill with the rest of the budget
    assert [(r.request_id, n) for r, n in plan.scheduled] == [("a", 1), ("b", 212)]
    assert plan.decode_seqs == 1 and plan.prefill_tokens == 212


def test_max_num_seqs_caps_the_running_batch() -> None:
    s = Scheduler(params(max_num_seqs=2))
    reqs = [make(str(i), 10, 3) for i in range(5)]
    for r in reqs:
        s.add(r)
    plan = s.schedule(0)
    assert len(plan.scheduled) == 2
    assert len(s.running) == 2 and len(s.waiting) == 3
    run_all(s)
    assert all(r.status is Status.FINISHED and r.num_output == 3 for r in reqs)
    assert s.stats.generation_tokens == 15
    assert s.stats.prompt_tokens == 50
    assert s.pool.num_free == s.pool.num_blocks


def test_preemption_by_recompute_when_blocks_run_out() -> None:
    # 8 blocks of 16 tokens = 128 tokens; two requests growing to 48 + 48 tokens... and a third
    s = Scheduler(params(num_gpu_blocks=8, block_size=16, max_model_len=128))
    reqs = [make(str(i), 30, 40) for i in range(3)]
    for r in reqs:
        s.add(r)
    run_all(s)
    assert s.stats.preemptions > 0
    assert sum(r.num_preemptions for r in reqs) == s.stats.preemptions
    assert all(r.num_output == 40 and r.status is Status.FINISHED for r in reqs)
    # a preempted request recomputed its prompt and its outputs: prompt tokens still counted once
    assert s.stats.prompt_tokens == 90
    assert s.pool.num_free == 8


def test_prefix_cache_hits_for_a_shared_prompt() -> None:
    s = Scheduler(params())
    keys = list(range(100))
    first = make("a", 100, 2, keys)
    s.add(first)
    run_all(s)
    second = make("b", 100, 2, keys)
    s.add(second)
    plan = s.schedule(0)
    # 6 full blocks of 16 are cached; the rest (4 tokens) is computed
    assert second.cached_tokens == 96
    assert plan.scheduled == [(second, 4)]
    assert s.pool.hits_tokens == 96 and s.pool.queries_tokens == 200


def test_prefix_stats_count_admissions_not_retries() -> None:
    # one block free after the first request: the second cannot be admitted for a while
    s = Scheduler(params(num_gpu_blocks=9, block_size=16, max_model_len=144))
    keys = list(range(100))
    s.add(make("a", 100, 30, keys))
    s.add(make("b", 100, 2, keys))
    run_all(s)
    assert s.pool.queries_tokens == 200


def test_abort_frees_blocks_and_counts() -> None:
    s = Scheduler(params())
    a = make("a", 50, 100)
    s.add(a)
    s.finish_step(s.schedule(0), 1)
    assert s.pool.num_free < s.pool.num_blocks
    s.abort(a, 2)
    assert a.status is Status.ABORTED and not s.has_work()
    assert s.pool.num_free == s.pool.num_blocks
    assert s.stats.finished["abort"] == 1


def test_priority_policy_orders_waiting_and_preempts_the_lowest() -> None:
    s = Scheduler(params(scheduling_policy="priority", max_num_seqs=1))
    low = SimRequest("low", 10, 2, "length", arrival_ns=1, priority=5)
    high = SimRequest("high", 10, 2, "length", arrival_ns=2, priority=0)
    s.add(low)
    s.add(high)
    plan = s.schedule(0)
    assert [r.request_id for r, _ in plan.scheduled] == ["high"]
