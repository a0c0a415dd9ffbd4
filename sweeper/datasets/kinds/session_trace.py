"""`dataset=session_trace`: replay of a multi-turn session trace with timestamps (JSONL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP
from sweeper.datasets.files import as_number, read_jsonl
from sweeper.datasets.sessions import SessionDataset
from sweeper.datasets.synthetic import PromptMaker
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import SessionSpec, TurnSpec


@DATASET_KINDS.register("session_trace")
@dataclass
class SessionTraceDatasetConfig(SessionDataset):
    """JSONL, one request a line: "session_id", "timestamp" (seconds from the trace's start),
    "output_len", and the turn's input as "prompt" (text) or "input_len" (random tokens of that
    length). A session's lines are its turns in timestamp order. Replayed with
    load.schedule=trace: a session starts at its first timestamp; a later turn is sent the
    gap between its timestamp and the one before it after the previous turn ended (the trace
    says when the user sent, not when they saw the answer), or after "delay_s" when a line
    gives one. Without schedule=trace sessions follow the load (concurrency, request_rate,
    think time)."""

    kind: str = option("session_trace", KIND_HELP)
    path: str = option("", "the JSONL trace")
    max_turns: int | None = option(None, "keep at most this many turns a session", ge=1)

    def check(self) -> None:
        self._read(None)

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        """The trace's sessions by start time: the first `num_sessions` (a trace is replayed,
        never cycled; fewer sessions than asked are all sent)."""
        return self._read(tokenizer)[:num_sessions]

    def _read(self, tokenizer: Any | None) -> list[SessionSpec]:
        maker = PromptMaker(tokenizer, np.random.default_rng(self.seed))
        lines: dict[str, list[tuple[float, int, dict[str, Any]]]] = {}
        for lineno, row in read_jsonl(self.path):
            where = f"{self.path}:{lineno}"
            for key in ("session_id", "timestamp"):
                if key not in row:
                    raise ConfigError(f"{where}: missing field {key}")
            ts = as_number(row["timestamp"], self.path, lineno, "timestamp", integer=False)
            if ts < 0:
                raise ConfigError(f"{where}: timestamp must be >= 0, got {ts!r}")
            if not isinstance(row.get("prompt", ""), str):
                raise ConfigError(f"{where}: prompt must be a string")
            if "prompt" not in row and "input_len" not in row:
                raise ConfigError(f"{where}: needs a prompt or an input_len")
            lines.setdefault(str(row["session_id"]), []).append((ts, lineno, row))
        sessions = []
        for sid, rows in lines.items():
            rows.sort(key=lambda r: r[0])
            turns = [self._turn(rows, k, maker, tokenizer) for k in range(len(rows))]
            sessions.append(
                SessionSpec(session_id=sid, turns=turns[: self.max_turns], arrival_s=rows[0][0])
            )
        sessions.sort(key=lambda s: (s.arrival_s or 0.0, s.session_id))
        return sessions

    def _turn(
        self,
        rows: list[tuple[float, int, dict[str, Any]]],
        k: int,
        maker: PromptMaker,
        tokenizer: Any | None,
    ) -> TurnSpec:
        ts, lineno, row = rows[k]
        path = self.path
        out = row.get("output_len")
        output_len = (
            None if out is None else max(int(as_number(out, path, lineno, "output_len")), 1)
        )
        if "prompt" in row:
            text = row["prompt"]
            n = count_tokens(tokenizer, text)
        else:
            text, n = maker.make(int(as_number(row["input_len"], path, lineno, "input_len")))
        delay: float | None = None
        if "delay_s" in row:
            delay = as_number(row["delay_s"], path, lineno, "delay_s", integer=False)
        elif k > 0:
            delay = max(ts - rows[k - 1][0], 0.0)
        return TurnSpec(
            messages=[{"role": "user", "content": text}],
            input_len=n,
            output_len=output_len,
            delay_s=delay,
        )
