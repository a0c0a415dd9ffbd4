"""`dataset=agentic`: synthetic agent runs — a long system prompt with tool definitions, a
task, then steps that each append a tool result and ask for a short output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP
from sweeper.datasets.distributions import Distribution, fixed
from sweeper.datasets.sessions import SessionDataset
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import SessionSpec, TurnSpec

TOOLS_HEADER = "You are an agent. You can call these tools; answer with one call at a time.\n"


@DATASET_KINDS.register("agentic")
@dataclass
class AgenticDatasetConfig(SessionDataset):
    """An agent loop per session: the system prompt (tool definitions, shared by every session)
    and a task start it; each step then appends a tool result of `tool_result_len` tokens (as a
    user message: a bare `tool` message needs a tool call id the synthetic run does not have)
    and asks for `step_output_len` tokens (the next call). A share of steps fans out: `fan_out`
    sub-requests on the same history at once, all joined before the next step."""

    kind: str = option("agentic", KIND_HELP)
    system_len: int = option(2048, "tokens of the system prompt with the tool definitions", ge=1)
    task_len: int = option(256, "tokens of the task (the first user message)", ge=1)
    steps: Distribution = option(
        help="steps per session after the task (rounded, at least 1)",
        default_factory=lambda: fixed(8),
    )
    tool_result_len: Distribution = option(
        help="tokens of each step's tool result", default_factory=lambda: fixed(512)
    )
    step_output_len: Distribution = option(
        help="output tokens of each step (at least 1)", default_factory=lambda: fixed(32)
    )
    fan_out: int = option(1, "sub-requests of a fanned-out step (1 = never fans out)", ge=1)
    fan_out_share: float = option(0.0, "share of steps that fan out (seeded draw)", ge=0, le=1)

    def check(self) -> None:
        for key, dist in (
            ("steps", self.steps),
            ("tool_result_len", self.tool_result_len),
            ("step_output_len", self.step_output_len),
        ):
            dist.check(f"dataset.{key}")
        if self.fan_out_share > 0 and self.fan_out == 1:
            raise ConfigError("dataset.fan_out: must be > 1 when dataset.fan_out_share > 0")
        super().check()

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        system, system_len = maker.make(self.system_len, TOOLS_HEADER)
        counts = [max(n, 1) for n in self.steps.draw_ints(rng, num_sessions)]
        sessions = []
        for s, n_steps in enumerate(counts):
            task, task_len = maker.make(self.task_len, "Task:")
            outs = [max(n, 1) for n in self.step_output_len.draw_ints(rng, n_steps + 1)]
            results = self.tool_result_len.draw_ints(rng, n_steps)
            fans = rng.random(n_steps) < self.fan_out_share
            turns = [
                TurnSpec(
                    messages=[{"role": "user", "content": task}],
                    input_len=task_len,
                    output_len=outs[0],
                    reference=maker.make(outs[0])[0],
                )
            ]
            for k in range(n_steps):
                text, n = maker.make(max(results[k], 1), f"Tool result {k + 1}:")
                turns.append(
                    TurnSpec(
                        messages=[{"role": "user", "content": text}],
                        input_len=n,
                        output_len=outs[k + 1],
                        reference=maker.make(outs[k + 1])[0],
                        parallel=self.fan_out if fans[k] else 1,
                    )
                )
            sessions.append(
                SessionSpec(session_id=f"a{s}", turns=turns, system=system, system_len=system_len)
            )
        return sessions
