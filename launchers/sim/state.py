"""The simulator's state, shared by its HTTP handlers: parameters, scheduler, engine loop,
metrics, ground truth and fault injection."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from launchers.sim.collector import IdleCollector
from launchers.sim.engine_loop import EngineLoop
from launchers.sim.faults import FaultInjector
from launchers.sim.ground_truth import GroundTruth
from launchers.sim.profiles import SimParams
from launchers.sim.prom_metrics import SimMetrics
from launchers.sim.prompt_tokens import PromptTokenizer
from launchers.sim.spec_decode import make_scheduler
from launchers.sim.timed_selector import TimedSelector


@dataclass
class SimState:
    params: SimParams
    model_name: str
    profile: str
    tokenizer: PromptTokenizer
    selector: TimedSelector | None = None
    collector: IdleCollector | None = None
    started_ns: int = field(default_factory=time.monotonic_ns)
    num_received: int = 0
    stopping: bool = False

    def __post_init__(self) -> None:
        self.scheduler = make_scheduler(self.params)
        self.metrics = SimMetrics(self.scheduler, self.model_name, self.profile)
        self.engine = EngineLoop(self.scheduler, self.selector, self.collector)
        self.truth = GroundTruth()
        self.faults = FaultInjector(self.params)
        # keys of one generated token (prefix caching of decoded blocks)
        self.output_keys = self.tokenizer.keys(self.params.output_token_text)

    def stop(self) -> None:
        """Stop stepping and release every handler waiting on the engine."""
        self.stopping = True
        self.engine.stop()
        for req in (*self.scheduler.running, *self.scheduler.waiting):
            if req.sink is not None:
                req.sink.engine_stopped()
            if req.waiter is not None and not req.waiter.done():
                req.waiter.set_result(None)
