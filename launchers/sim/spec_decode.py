"""Speculative decoding in the simulator (`--num-speculative-tokens K`, `--spec-acceptance-rate
P`): every decode step of a request verifies K draft tokens, each accepted with probability P
until the first rejection (seeded per request), so a step yields 1 + accepted tokens.

Cost: the K draft tokens of every decoding sequence are verified like K prefill tokens in the
same step (the drafter itself — n-gram lookup — is free). `/metrics` gets vLLM's counters
`vllm:spec_decode_num_drafts_total`, `..._num_draft_tokens_total` and
`..._num_accepted_tokens_total` (SIMULATED acceptance, not a model's).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from launchers.sim.profiles import SimParams
from launchers.sim.scheduler import Scheduler, SimRequest, Status, StepPlan


@dataclass(slots=True)
class SpecStats:
    drafts: int = 0
    draft_tokens: int = 0
    accepted_tokens: int = 0


class SpecDecodeScheduler(Scheduler):
    def __init__(self, params: SimParams) -> None:
        super().__init__(params)
        self.k = params.num_speculative_tokens
        self.p = params.spec_acceptance_rate
        self.spec_stats = SpecStats()
        self._rngs: dict[str, random.Random] = {}

    def schedule(self, now_ns: int) -> StepPlan:
        plan = super().schedule(now_ns)
        plan.prefill_tokens += self.k * plan.decode_seqs
        return plan

    def _accepted(self, req: SimRequest) -> int:
        rng = self._rngs.get(req.request_id)
        if rng is None:
            rng = self._rngs[req.request_id] = random.Random(f"{self.params.seed}:{req.request_id}")
        n = 0
        while n < self.k and rng.random() < self.p:
            n += 1
        return n

    def finish_step(self, plan: StepPlan, now_ns: int) -> list[SimRequest]:
        decoding = {
            id(req)
            for req, num_new in plan.scheduled
            if num_new == 1 and req.num_output > 0 and req.num_computed == req.num_tokens - 1
        }
        produced = super().finish_step(plan, now_ns)
        finished = False
        stats = self.spec_stats
        for req in produced:
            if id(req) not in decoding:
                continue
            # drafts past max_tokens are verified but not kept (0 left on the last step)
            extra = min(self._accepted(req), req.target_output - req.num_output)
            stats.drafts += 1
            stats.draft_tokens += self.k
            stats.accepted_tokens += extra
            for _ in range(extra):
                req.num_output += 1
                req.num_computed += 1
                req.pending += 1
                self.stats.generation_tokens += 1
                self.on_token(req, now_ns)
            if extra and req.num_output >= req.target_output:
                req.status = Status.FINISHED
                req.finish_reason = req.final_reason
                req.finish_ns = now_ns
                self.pool.free(req.table)
                self.stats.finished[req.final_reason] += 1
                self.on_finish(req, now_ns)
                finished = True
            if req.done:
                self._rngs.pop(req.request_id, None)
        if finished:
            self.running = [r for r in self.running if r.status is Status.RUNNING]
        return produced


def make_scheduler(params: SimParams) -> Scheduler:
    if params.num_speculative_tokens > 0:
        return SpecDecodeScheduler(params)
    return Scheduler(params)


def render_counters(scheduler: Scheduler, counter: Callable[[str, str, float], None]) -> None:
    """vLLM's speculative-decoding counters, when the scheduler speculates."""
    stats = getattr(scheduler, "spec_stats", None)
    if stats is None:
        return
    counter("vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", stats.drafts)
    counter("vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", stats.draft_tokens)
    counter(
        "vllm:spec_decode_num_accepted_tokens",
        "Number of accepted tokens.",
        stats.accepted_tokens,
    )
