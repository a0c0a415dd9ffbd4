"""Fault injection, decided per request from the seed and the request id (reproducible)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from launchers.sim.profiles import SimParams


@dataclass(frozen=True, slots=True)
class FaultPlan:
    # answer at once with this HTTP status (500 or 429); 0 = no error
    status: int = 0
    # close the connection after this many chunks (streams only); 0 = never
    cut_after_chunks: int = 0
    # pause once, before chunk number `stall_at_chunk` (1-based), for `stall_s`; 0 = never
    stall_at_chunk: int = 0
    stall_s: float = 0.0

    @property
    def label(self) -> str:
        if self.status:
            return f"http_{self.status}"
        if self.cut_after_chunks:
            return f"cut_after_{self.cut_after_chunks}"
        if self.stall_at_chunk:
            return f"stall_at_{self.stall_at_chunk}"
        return ""


NO_FAULT = FaultPlan()


class FaultInjector:
    def __init__(self, params: SimParams) -> None:
        self.p = params
        self.enabled = any(
            (params.fail_500_rate, params.fail_429_rate, params.cut_stream_rate, params.stall_rate)
        )

    def plan(self, request_id: str, expected_chunks: int) -> FaultPlan:
        if not self.enabled:
            return NO_FAULT
        p = self.p
        rng = random.Random(f"{p.seed}:fault:{request_id}")
        u = rng.random()
        if u < p.fail_500_rate:
            return FaultPlan(status=500)
        if u < p.fail_500_rate + p.fail_429_rate:
            return FaultPlan(status=429)
        last = max(1, expected_chunks - 1)
        if rng.random() < p.cut_stream_rate:
            return FaultPlan(cut_after_chunks=rng.randint(1, last))
        if rng.random() < p.stall_rate:
            return FaultPlan(stall_at_chunk=rng.randint(1, last), stall_s=p.stall_s)
        return NO_FAULT


FAULT_MESSAGES = {
    500: "Simulated internal server error (fault injection).",
    429: "Simulated rate limit: too many requests (fault injection).",
}
