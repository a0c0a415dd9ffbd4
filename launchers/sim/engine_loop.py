"""The clock: one asyncio loop runs the scheduler's steps on absolute deadlines.

A step planned at `start` ends at `start + cost(plan)`; the loop arms one timer for that deadline
(`loop.call_at`), applies the step when it fires and plans the next step from the *deadline*, not
from the time the timer fired, so lateness never accumulates into drift. No per-token sleeps: the
handlers of the requests that got tokens are woken once per step.
"""

from __future__ import annotations

import asyncio
import random
import time
from array import array

from launchers.sim.collector import IdleCollector
from launchers.sim.profiles import SimParams
from launchers.sim.scheduler import Scheduler, SimRequest, StepPlan
from launchers.sim.timed_selector import TimedSelector


class CostModel:
    """Step time = overhead + prefill tokens + decode sequences + KV tokens read, times an
    optional seeded gaussian jitter factor."""

    def __init__(self, params: SimParams) -> None:
        self.overhead_ns = params.step_overhead_ms * 1e6
        self.prefill_ns = params.prefill_ms_per_token * 1e6
        self.decode_ns = params.decode_ms_per_seq * 1e6
        self.kv_ns = params.kv_read_ms_per_token * 1e6
        self.jitter = params.jitter
        self._rng = random.Random(params.seed)

    def step_ns(self, plan: StepPlan) -> int:
        ns = (
            self.overhead_ns
            + self.prefill_ns * plan.prefill_tokens
            + self.decode_ns * plan.decode_seqs
            + self.kv_ns * plan.kv_tokens
        )
        if self.jitter:
            ns *= max(0.1, self._rng.gauss(1.0, self.jitter))
        return max(1, int(ns))


class EngineLoop:
    # lateness samples kept for /sim/stats (a ring of the most recent steps)
    LATENESS_KEEP = 1_000_000

    def __init__(
        self,
        scheduler: Scheduler,
        selector: TimedSelector | None = None,
        collector: IdleCollector | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.cost = CostModel(scheduler.params)
        # Python's full garbage collections, run when the engine goes idle
        self.collector = collector
        # splits lateness into the OS's wake-up delay and the loop's own backlog
        self.selector = selector
        self._loop: asyncio.AbstractEventLoop | None = None
        self._plan: StepPlan | None = None
        self._deadline_ns = 0
        self._timer: asyncio.TimerHandle | None = None
        self.lateness_ns = array("q")
        self.wake_delay_ns = array("q")
        # the part of a step's lateness it inherited from the step before (catch-up)
        self.inherited_ns = array("q")
        self._lateness_pos = 0
        self._step_ns = 0
        self._prev_late_ns = 0
        self.busy_ns = 0

    @property
    def idle(self) -> bool:
        return self._plan is None

    def add(self, req: SimRequest) -> None:
        self.scheduler.add(req)
        if self._plan is None:
            self._start_step(time.monotonic_ns())

    def abort(self, req: SimRequest) -> None:
        self.scheduler.abort(req, time.monotonic_ns())

    def poll(self) -> None:
        """Run the current step now if its deadline has passed. Request handlers call this, so a
        burst of arrivals handled within one loop iteration cannot hold a due step back."""
        if self._plan is not None and time.monotonic_ns() >= self._deadline_ns:
            if self._timer is not None:
                self._timer.cancel()
            self._end_step()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._plan = None

    def _start_step(self, start_ns: int) -> None:
        plan = self.scheduler.schedule(start_ns)
        if not plan.scheduled:
            self._plan = None
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._plan = plan
        self._step_ns = self.cost.step_ns(plan)
        if start_ns != self._deadline_ns:  # started from idle: nothing to inherit
            self._prev_late_ns = 0
        self._deadline_ns = start_ns + self._step_ns
        self._timer = self._loop.call_at(self._deadline_ns / 1e9, self._end_step)

    def _end_step(self) -> None:
        now = time.monotonic_ns()
        late = now - self._deadline_ns
        wake = self.selector.wake_delay_ns(self._deadline_ns) if self.selector else 0
        inherited = max(0, min(late, self._prev_late_ns - self._step_ns))
        self._record_lateness(late, wake, inherited)
        self._prev_late_ns = late
        plan = self._plan
        assert plan is not None
        produced = self.scheduler.finish_step(plan, now)
        for req in produced:
            if req.pending >= req.wake_every or req.done:
                if req.sink is not None:
                    req.sink(req)
                    continue
                waiter = req.waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        # the next step starts at this step's deadline (absolute), or now if the engine was idle
        self._start_step(self._deadline_ns)
        self.busy_ns += time.monotonic_ns() - now
        if self.collector is not None and self._plan is None:
            self.collector.offer(idle=True)

    def _record_lateness(self, ns: int, wake_ns: int, inherited_ns: int) -> None:
        if len(self.lateness_ns) < self.LATENESS_KEEP:
            self.lateness_ns.append(ns)
            self.wake_delay_ns.append(wake_ns)
            self.inherited_ns.append(inherited_ns)
        else:
            pos = self._lateness_pos
            self.lateness_ns[pos] = ns
            self.wake_delay_ns[pos] = wake_ns
            self.inherited_ns[pos] = inherited_ns
            self._lateness_pos = (pos + 1) % self.LATENESS_KEEP

    def reset_lateness(self) -> None:
        self.lateness_ns = array("q")
        self.wake_delay_ns = array("q")
        self.inherited_ns = array("q")
        self._lateness_pos = 0
        self.busy_ns = 0
