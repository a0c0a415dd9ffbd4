"""The step scheduler, modelled on vLLM V1's: waiting and running queues, one token budget per
step shared by chunked prefill and decode, a KV-block pool, preemption by recompute.

Pure and synchronous: `schedule()` plans one step, `finish_step()` applies it at the time the step
ended. The clock lives in `launchers.sim.engine_loop`; unit tests drive this class directly.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from launchers.sim.kv_cache import BlockTable, KVBlockPool, decode_hashes
from launchers.sim.profiles import SimParams


class Status(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"


@dataclass(slots=True, eq=False)
class SimRequest:
    request_id: str
    prompt_len: int
    # tokens it will generate in total (max_tokens, or the drawn natural length)
    target_output: int
    # finish reason once `target_output` tokens are out ("length" or "stop")
    final_reason: str
    arrival_ns: int
    block_hashes: list[int] = field(default_factory=list)
    priority: int = 0
    # prefix caching of decoded blocks: the prompt's keys after its last full block, the keys
    # of one generated token, how many leading output tokens are reasoning
    tail_keys: list[int] = field(default_factory=list)
    output_keys: list[int] = field(default_factory=list)
    num_reasoning: int = 0
    # --- state ---
    status: Status = Status.WAITING
    num_output: int = 0
    num_computed: int = 0
    table: BlockTable = field(default_factory=BlockTable)
    num_preemptions: int = 0
    cached_tokens: int = 0
    scheduled_ns: int = 0
    first_token_ns: int = 0
    last_token_ns: int = 0
    finish_ns: int = 0
    finish_reason: str | None = None
    # tokens produced but not yet sent by the HTTP handler, and the handler's waiter, woken
    # once `wake_every` tokens are pending or the request is done
    pending: int = 0
    wake_every: int = 1
    waiter: Any = None
    # streams: called synchronously at the end of a step that gave this request tokens
    sink: Any = None

    @property
    def num_tokens(self) -> int:
        return self.prompt_len + self.num_output

    @property
    def done(self) -> bool:
        return self.status is Status.FINISHED or self.status is Status.ABORTED


@dataclass(slots=True)
class StepPlan:
    scheduled: list[tuple[SimRequest, int]]
    prefill_tokens: int
    decode_seqs: int
    kv_tokens: int


@dataclass(slots=True)
class SchedulerStats:
    steps: int = 0
    preemptions: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished: dict[str, int] = field(default_factory=lambda: {"stop": 0, "length": 0, "abort": 0})


class Scheduler:
    def __init__(self, params: SimParams) -> None:
        self.params = params
        self.pool = KVBlockPool(
            params.num_gpu_blocks, params.block_size, params.enable_prefix_caching
        )
        self.priority_policy = params.scheduling_policy == "priority"
        self.waiting: list[SimRequest] = []
        self.running: list[SimRequest] = []
        self.stats = SchedulerStats()
        self._arrivals = 0
        # called with (request, now_ns) at its first scheduling, each token, and its end
        self.on_scheduled: Callable[[SimRequest, int], None] = lambda r, t: None
        self.on_token: Callable[[SimRequest, int], None] = lambda r, t: None
        self.on_finish: Callable[[SimRequest, int], None] = lambda r, t: None
        # called with the number of tokens scheduled in a step
        self.on_step: Callable[[int], None] = lambda n: None

    # --- queues ---
    def _wait_key(self, req: SimRequest) -> tuple[int, int]:
        return (req.priority, req.arrival_ns)

    def add(self, req: SimRequest) -> None:
        req.status = Status.WAITING
        if self.priority_policy:
            bisect.insort(self.waiting, req, key=self._wait_key)
        else:
            self.waiting.append(req)

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def abort(self, req: SimRequest, now_ns: int) -> None:
        if req.done:
            return
        if req.status is Status.WAITING:
            self.waiting.remove(req)
        else:
            self.running.remove(req)
        self.pool.free(req.table)
        req.status = Status.ABORTED
        req.finish_reason = "abort"
        req.finish_ns = now_ns
        self.stats.finished["abort"] += 1
        self.on_finish(req, now_ns)

    def _pick_victim(self) -> int:
        """Index in `running` of the request to preempt: the last one (FCFS) or the one with the
        lowest priority, latest arrival (priority policy)."""
        if self.priority_policy:
            return max(range(len(self.running)), key=lambda i: self._wait_key(self.running[i]))
        return len(self.running) - 1

    def _preempt(self, req: SimRequest) -> None:
        self.pool.free(req.table)
        req.num_computed = 0
        req.num_preemptions += 1
        self.stats.preemptions += 1
        if self.priority_policy:
            self.add(req)
        else:
            req.status = Status.WAITING
            self.waiting.insert(0, req)

    # --- one step ---
    def schedule(self, now_ns: int) -> StepPlan:
        budget = self.params.max_num_batched_tokens
        scheduled: list[tuple[SimRequest, int]] = []
        preempted = False
        index = 0
        while index < len(self.running) and budget > 0:
            req = self.running[index]
            num_new = min(req.num_tokens - req.num_computed, budget)
            while not self.pool.allocate(req.table, req.num_computed + num_new):
                position = self._pick_victim()
                victim = self.running.pop(position)
                self._preempt(victim)
                preempted = True
                if position < index:  # already planned this step: take it back
                    index -= 1
                    for k, (planned, tokens) in enumerate(scheduled):
                        if planned is victim:
                            budget += tokens
                            del scheduled[k]
                            break
                if victim is req:
                    break
            else:
                scheduled.append((req, num_new))
                budget -= num_new
                index += 1
        if not preempted:
            budget = self._admit_waiting(scheduled, budget, now_ns)
        return self._plan(scheduled)

    def _admit_waiting(
        self, scheduled: list[tuple[SimRequest, int]], budget: int, now_ns: int
    ) -> int:
        pool = self.pool
        while self.waiting and budget > 0 and len(self.running) < self.params.max_num_seqs:
            req = self.waiting[0]
            if req.num_computed == 0:
                req.num_computed = pool.match_prefix(req.table, req.block_hashes, req.prompt_len)
                if req.num_preemptions == 0:
                    req.cached_tokens = req.num_computed
            num_new = min(req.num_tokens - req.num_computed, budget)
            if not pool.allocate(req.table, req.num_computed + num_new):
                pool.free(req.table)
                req.num_computed = 0
                break
            self.waiting.pop(0)
            pool.record_query(req.prompt_len, len(req.table.hashed) * pool.block_size)
            req.status = Status.RUNNING
            self.running.append(req)
            scheduled.append((req, num_new))
            budget -= num_new
            if req.scheduled_ns == 0:
                req.scheduled_ns = now_ns
                self.on_scheduled(req, now_ns)
        return budget

    def _plan(self, scheduled: list[tuple[SimRequest, int]]) -> StepPlan:
        prefill = decode = kv = 0
        for req, num_new in scheduled:
            if num_new == 1 and req.num_output > 0 and req.num_computed == req.num_tokens - 1:
                decode += 1
            else:
                prefill += num_new
            kv += req.num_computed + num_new
        if scheduled:
            self.on_step(prefill + decode)
        return StepPlan(scheduled, prefill, decode, kv)

    def _cache_decoded(self, req: SimRequest) -> None:
        """Register the full blocks of prompt + output before the request frees them."""
        bs = self.params.block_size
        decoded = decode_hashes(
            req.block_hashes, req.tail_keys, req.output_keys, req.num_reasoning, req.num_output, bs
        )
        if decoded:
            chain = req.block_hashes + decoded
            self.pool.register_full_blocks(req.table, chain, len(chain))

    def finish_step(self, plan: StepPlan, now_ns: int) -> list[SimRequest]:
        """Apply a step that ended at `now_ns`; returns the requests that got a token."""
        self.stats.steps += 1
        block_size = self.params.block_size
        pool = self.pool
        produced: list[SimRequest] = []
        any_finished = False
        for req, num_new in plan.scheduled:
            if req.status is not Status.RUNNING:
                continue  # aborted or preempted after planning
            req.num_computed += num_new
            if req.num_computed <= req.prompt_len and req.block_hashes:
                pool.register_full_blocks(
                    req.table, req.block_hashes, req.num_computed // block_size
                )
            if req.num_computed < req.num_tokens:
                continue  # a prefill chunk; no token yet
            req.num_output += 1
            req.pending += 1
            self.stats.generation_tokens += 1
            if req.num_output == 1:
                req.first_token_ns = now_ns
                self.stats.prompt_tokens += req.prompt_len
            self.on_token(req, now_ns)
            req.last_token_ns = now_ns
            produced.append(req)
            if req.num_output >= req.target_output:
                req.status = Status.FINISHED
                req.finish_reason = req.final_reason
                req.finish_ns = now_ns
                if req.output_keys:
                    self._cache_decoded(req)
                pool.free(req.table)
                self.stats.finished[req.final_reason] += 1
                self.on_finish(req, now_ns)
                any_finished = True
        if any_finished:
            self.running = [r for r in self.running if r.status is Status.RUNNING]
        return produced
