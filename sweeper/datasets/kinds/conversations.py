"""`dataset=conversations`: synthetic multi-turn sessions with token-exact lengths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP
from sweeper.datasets.distributions import Distribution, fixed
from sweeper.datasets.sessions import SessionDataset
from sweeper.datasets.synthetic import PromptMaker
from sweeper.records import SessionSpec, TurnSpec


@DATASET_KINDS.register("conversations")
@dataclass
class ConversationsDatasetConfig(SessionDataset):
    """Synthetic conversations: a system prompt (shared by every session, or one each), then
    turns whose user message and answer lengths are seeded draws. Every user message is random
    tokens of exactly its drawn length (through model.tokenizer when there is one); the
    reference answers (load.sessions.history=reference) are random tokens of the output
    length."""

    kind: str = option("conversations", KIND_HELP)
    turns: Distribution = option(
        help="turns per session (rounded, at least 1)", default_factory=lambda: fixed(4)
    )
    input_len: Distribution = option(
        help="tokens of each turn's user message", default_factory=lambda: fixed(128)
    )
    output_len: Distribution = option(
        help="output tokens of each turn (at least 1)", default_factory=lambda: fixed(64)
    )
    system_len: int = option(0, "tokens of the system prompt (0 = none)", ge=0)
    shared_system: bool = option(
        True, "every session starts with the same system prompt (a prefix shared across sessions)"
    )

    def check(self) -> None:
        for key, dist in (
            ("turns", self.turns),
            ("input_len", self.input_len),
            ("output_len", self.output_len),
        ):
            dist.check(f"dataset.{key}")
        super().check()

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        rng = np.random.default_rng(self.seed)
        maker = PromptMaker(tokenizer, rng)
        shared = maker.make(self.system_len) if self.system_len else ("", 0)
        counts = [max(n, 1) for n in self.turns.draw_ints(rng, num_sessions)]
        sessions = []
        for s, n_turns in enumerate(counts):
            system, system_len = shared
            if self.system_len and not self.shared_system:
                system, system_len = maker.make(self.system_len)
            ins = self.input_len.draw_ints(rng, n_turns)
            outs = [max(n, 1) for n in self.output_len.draw_ints(rng, n_turns)]
            turns = []
            for n_in, n_out in zip(ins, outs, strict=True):
                text, n = maker.make(max(n_in, 1))
                turns.append(
                    TurnSpec(
                        messages=[{"role": "user", "content": text}],
                        input_len=n,
                        output_len=n_out,
                        reference=maker.make(n_out)[0],
                    )
                )
            sessions.append(
                SessionSpec(session_id=f"c{s}", turns=turns, system=system, system_len=system_len)
            )
        return sessions
