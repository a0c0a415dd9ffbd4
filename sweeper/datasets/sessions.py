"""What the session kinds share (`conversations`, `conversations_jsonl`, `agentic`,
`session_trace`, and `sharegpt` with `turns=all`): the `SessionDataset` base, message checks,
the single-shot view of a session, and the cycling of sessions to a requested count.

A session kind samples `SessionSpec`s (`sample_sessions`); the client drives them turn by turn
(`sweeper.client.sessions`). `num_prompts` counts sessions for these kinds. `sample` (the
single-shot view every kind has) gives each session's first turn as one request, so a session
dataset still works with the checks that look at requests.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.base import DatasetConfig
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec, SessionSpec, TurnSpec

ROLES = ("system", "user", "assistant", "tool")


class SessionDataset(DatasetConfig):
    """Mixin of the session kinds: `sample_sessions`, and `sample` as first turns."""

    def is_sessions(self) -> bool:
        return True

    def check(self) -> None:
        self.sample_sessions(1, None)

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        return [first_request(s) for s in self.sample_sessions(num_prompts, tokenizer)]


def first_request(session: SessionSpec) -> RequestSpec:
    """The first turn of a session as a single-shot request (system prompt included)."""
    turn = session.turns[0]
    system = [{"role": "system", "content": session.system}] if session.system else []
    messages = system + turn.messages
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    return RequestSpec(
        prompt=prompt,
        prompt_len=session.system_len + turn.input_len,
        output_len=turn.output_len,
        messages=messages,
        labels=dict(session.labels),
    )


def cycle_sessions(
    sessions: list[SessionSpec], num: int, rng: np.random.Generator, what: str
) -> list[SessionSpec]:
    """Exactly `num` sessions: the first `num`, or all plus seeded repeats (renamed `<id>~<k>`
    so each keeps its own id) when there are fewer."""
    if not sessions:
        raise ConfigError(f"{what}: no usable sessions after filtering")
    if len(sessions) >= num:
        return sessions[:num]
    extra = rng.choice(len(sessions), num - len(sessions)).tolist()
    out = list(sessions)
    for k, i in enumerate(extra, start=1):
        out.append(replace(sessions[i], session_id=f"{sessions[i].session_id}~{k}"))
    return out


def check_messages(messages: Any, where: str) -> list[dict[str, Any]]:
    """A list of {"role", "content": str} messages with known roles; ConfigError naming
    `where` (file:line or entry) and the message otherwise."""
    if not isinstance(messages, list) or not messages:
        raise ConfigError(f"{where}: 'messages' must be a non-empty list")
    for j, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConfigError(f"{where}: messages[{j}] is not an object")
        role = message.get("role")
        if role not in ROLES:
            raise ConfigError(f"{where}: messages[{j}].role must be one of {ROLES}, got {role!r}")
        if not isinstance(message.get("content"), str):
            raise ConfigError(f"{where}: messages[{j}].content must be a string")
    return messages


def check_alternation(roles: list[str], where: str) -> None:
    """user/assistant turns alternate, starting with the user (after an optional system)."""
    body = roles[1:] if roles and roles[0] == "system" else roles
    for j, role in enumerate(body):
        want = "user" if j % 2 == 0 else "assistant"
        if role != want and not (want == "user" and role == "tool"):
            offset = len(roles) - len(body)
            raise ConfigError(
                f"{where}: message {j + offset} should be {want!r} (turns alternate), got {role!r}"
            )


def turns_from_messages(
    messages: list[dict[str, Any]],
    tokenizer: Any | None,
    default_output_len: int | None,
    where: str,
) -> tuple[str, list[TurnSpec]]:
    """(system prompt, turns) of a checked message list: each turn is the user (and tool)
    messages up to the next assistant message, whose text is the turn's reference answer and
    whose `output_len` (or token count) the turn's output length. A trailing user turn without
    an answer gets `default_output_len`."""
    system = ""
    start = 0
    if messages and messages[0]["role"] == "system":
        system, start = messages[0]["content"], 1
    turns: list[TurnSpec] = []
    pending: list[dict[str, Any]] = []
    for j in range(start, len(messages)):
        message = messages[j]
        if message["role"] != "assistant":
            pending.append({"role": message["role"], "content": message["content"]})
            continue
        if not pending:
            raise ConfigError(f"{where}: messages[{j}] is an answer without a question before it")
        turns.append(
            _turn(pending, message, tokenizer, default_output_len, f"{where}: messages[{j}]")
        )
        pending = []
    if pending:
        turns.append(_turn(pending, None, tokenizer, default_output_len, where))
    return system, turns


def _turn(
    pending: list[dict[str, Any]],
    answer: dict[str, Any] | None,
    tokenizer: Any | None,
    default_output_len: int | None,
    where: str,
) -> TurnSpec:
    reference = answer["content"] if answer is not None else ""
    output_len = default_output_len
    if answer is not None and "output_len" in answer:
        value = answer["output_len"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.output_len must be an integer >= 1, got {value!r}")
        output_len = value
    elif reference and default_output_len is None:
        output_len = max(count_tokens(tokenizer, reference), 1)
    input_len = sum(count_tokens(tokenizer, m["content"]) for m in pending)
    return TurnSpec(
        messages=pending, input_len=input_len, output_len=output_len, reference=reference
    )
