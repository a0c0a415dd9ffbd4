"""Schemas of the request decorators every dataset kind carries (`dataset.priority`,
`dataset.structured_output`). Both are off by default: no field is sent, no label is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PriorityConfig:
    """A share of requests sent as the high-priority class.

    Every request gets the label `priority_class` (high | low) whenever `high_share > 0`, so the
    metrics are split by class under any scheduling policy. The `priority` body field (vLLM: a
    lower value is served first) is sent when `send` is true; `send: null` sends it only where the
    server accepts it: a server with `scheduling_policy: priority`, or an external/command
    server (whose policy sweeper cannot know).
    """

    # 0 = off; else the fraction of requests (seeded draw) in the high class
    high_share: float = 0.0
    high: int = 0
    low: int = 1
    send: bool | None = None


@dataclass
class StructuredOutputConfig:
    """A constraint attached to a share of requests; outputs are validated after the run.

    kind: json_schema | regex | choice | grammar. api: how the body carries it —
    `structured_outputs` (vLLM >= 0.10: {"structured_outputs": {"json"|"regex"|"choice"|…}}),
    `guided` (older vLLM: guided_json / guided_regex / guided_choice / guided_grammar) or
    `response_format` (OpenAI's {"type": "json_schema", ...}; json_schema only).
    """

    # 0 = off; 1 = every request constrained
    ratio: float = 0.0
    kind: str = "json_schema"
    api: str = "structured_outputs"
    # None = the built-in examples (sweeper.features.structured)
    json_schema: dict[str, Any] | None = None
    regex: str | None = None
    choices: list[str] | None = None
    grammar: str | None = None
    # prepended to the prompt of a constrained request (tells a real model what to produce)
    instruction: bool = True
