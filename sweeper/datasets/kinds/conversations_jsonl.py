"""`dataset=conversations_jsonl`: multi-turn conversations from a JSONL file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP
from sweeper.datasets.files import read_jsonl
from sweeper.datasets.sessions import (
    SessionDataset,
    check_alternation,
    check_messages,
    cycle_sessions,
    turns_from_messages,
)
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import SessionSpec


@DATASET_KINDS.register("conversations_jsonl")
@dataclass
class ConversationsJsonlDatasetConfig(SessionDataset):
    """JSONL, one conversation a line: {"messages": [{"role", "content"}, ...]} with an optional
    "id". System first (optional), then user (or tool) and assistant messages alternating; each
    assistant message is the reference answer of the turn before it and may carry its own
    "output_len" (else its token count is the turn's output length). A last user message
    without an answer gets dataset.output_len."""

    kind: str = option("conversations_jsonl", KIND_HELP)
    path: str = option("", "the JSONL file")
    output_len: int | None = option(
        256, "output tokens of a turn without an answer in the file (null = server decides)", ge=1
    )
    max_turns: int | None = option(None, "keep at most this many turns a session", ge=1)
    shuffle: bool = option(False, "take the conversations in a seeded random order")

    def check(self) -> None:
        self._read(None)

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        rng = np.random.default_rng(self.seed)
        sessions = self._read(tokenizer)
        if self.shuffle:
            sessions = [sessions[i] for i in rng.permutation(len(sessions)).tolist()]
        return cycle_sessions(sessions, num_sessions, rng, f"dataset {self.path}")

    def _read(self, tokenizer: Any | None) -> list[SessionSpec]:
        sessions = []
        for lineno, row in read_jsonl(self.path):
            where = f"{self.path}:{lineno}"
            messages = check_messages(row.get("messages"), where)
            check_alternation([m["role"] for m in messages], where)
            sid = row.get("id", f"l{lineno}")
            if not isinstance(sid, (str, int)):
                raise ConfigError(f"{where}: 'id' must be a string or an integer")
            system, turns = turns_from_messages(messages, tokenizer, None, where)
            for turn in turns:
                if turn.output_len is None:
                    turn.output_len = self.output_len
            if not turns:
                raise ConfigError(f"{where}: no user turn")
            system_len = count_tokens(tokenizer, system)
            sessions.append(
                SessionSpec(
                    session_id=str(sid),
                    turns=turns[: self.max_turns],
                    system=system,
                    system_len=system_len,
                )
            )
        return sessions
