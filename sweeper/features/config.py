"""Schemas of the request decorators every dataset kind carries (`dataset.priority`,
`dataset.structured_output`). Both are off by default: no field is sent, no label is kept.
Their checks run where they are applied (`sweeper.features.apply`, `.structured`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instruments.options import option


@dataclass
class PriorityConfig:
    """A share of requests sent as the high-priority class.

    Every request gets the label `priority_class` (high | low) whenever `high_share > 0`, so the
    metrics are split by class under any scheduling policy. The `priority` body field (vLLM: a
    lower value is served first) is sent when `send` is true; `send: null` sends it only where the
    server accepts it: a server with `scheduling_policy: priority`, or an external/command
    server (whose policy sweeper cannot know).
    """

    high_share: float = option(
        0.0, "0 = off; else the fraction of requests (seeded draw) in the high class, in [0, 1]"
    )
    high: int = option(0, "the priority value of the high class (lower is served first)")
    low: int = option(1, "the priority value of the low class")
    send: bool | None = option(
        None, "send the priority body field; null = where the server's policy accepts it"
    )


@dataclass
class StructuredOutputConfig:
    """A constraint attached to a share of requests; outputs are validated after the run.

    kind: json_schema | regex | choice | grammar. api: how the body carries it —
    `structured_outputs` (vLLM >= 0.10: {"structured_outputs": {"json"|"regex"|"choice"|…}}),
    `guided` (older vLLM: guided_json / guided_regex / guided_choice / guided_grammar) or
    `response_format` (OpenAI's {"type": "json_schema", ...}; json_schema only).
    """

    ratio: float = option(0.0, "share of constrained requests: 0 = off, 1 = every request")
    kind: str = option("json_schema", "the constraint: json_schema | regex | choice | grammar")
    api: str = option(
        "structured_outputs",
        "how the body carries it: structured_outputs | guided | response_format",
    )
    json_schema: dict[str, Any] | None = option(
        None, "the JSON schema (null = the built-in example, sweeper.features.structured)"
    )
    regex: str | None = option(None, "the regular expression (null = the built-in example)")
    choices: list[str] | None = option(None, "the allowed outputs (null = the built-in example)")
    grammar: str | None = option(None, "the grammar (null = the built-in example)")
    instruction: bool = option(
        True, "prepend an instruction to a constrained prompt (tells a real model what to do)"
    )
