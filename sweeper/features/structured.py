"""Structured-output constraints: built-in examples, how each body API carries them, and the
validation of a generated text against its constraint (after the run, never in the loop)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from instruments.errors import ConfigError
from sweeper.features.config import StructuredOutputConfig

KINDS = ("json_schema", "regex", "choice", "grammar")
APIS = ("structured_outputs", "guided", "response_format")

DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "email": {"type": "string", "maxLength": 40},
    },
    "required": ["name", "age", "email"],
    "additionalProperties": False,
}
DEFAULT_REGEX = r"[a-z]{3,12}@[a-z]{3,8}\.(com|org|net)"
DEFAULT_CHOICES = ["positive", "negative", "neutral"]
# EBNF (xgrammar / lark style) of a tiny SQL select
DEFAULT_GRAMMAR = """root ::= select_statement
select_statement ::= "SELECT " column " FROM " table " WHERE " condition
column ::= "col_1" | "col_2"
table ::= "table_1" | "table_2"
condition ::= column " = " number
number ::= "1" | "2"
"""

# body keys of each API, per kind
_STRUCTURED = {"json_schema": "json", "regex": "regex", "choice": "choice", "grammar": "grammar"}
_GUIDED = {
    "json_schema": "guided_json",
    "regex": "guided_regex",
    "choice": "guided_choice",
    "grammar": "guided_grammar",
}


@dataclass(frozen=True)
class Constraint:
    kind: str
    value: Any

    def instruction(self) -> str:
        if self.kind == "json_schema":
            return f"Answer with one JSON object following this schema: {json.dumps(self.value)}\n"
        if self.kind == "regex":
            return f"Answer with text matching the regular expression {self.value}\n"
        if self.kind == "choice":
            return f"Answer with exactly one of: {', '.join(self.value)}\n"
        return f"Answer following this grammar:\n{self.value}\n"

    def body(self, api: str) -> dict[str, Any]:
        if api == "structured_outputs":
            return {"structured_outputs": {_STRUCTURED[self.kind]: self.value}}
        if api == "guided":
            return {_GUIDED[self.kind]: self.value}
        schema = {"name": "sweeper_schema", "schema": self.value, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}


def constraint(cfg: StructuredOutputConfig) -> Constraint:
    """The configured constraint; ConfigError naming the key for a bad one."""
    prefix = "dataset.structured_output"
    if not 0.0 <= cfg.ratio <= 1.0:
        raise ConfigError(f"{prefix}.ratio: must be in [0, 1], got {cfg.ratio}")
    if cfg.kind not in KINDS:
        raise ConfigError(f"{prefix}.kind: {cfg.kind!r} is not one of {', '.join(KINDS)}")
    if cfg.api not in APIS:
        raise ConfigError(f"{prefix}.api: {cfg.api!r} is not one of {', '.join(APIS)}")
    if cfg.api == "response_format" and cfg.kind != "json_schema":
        raise ConfigError(f"{prefix}.api: response_format carries only kind=json_schema")
    if cfg.kind == "json_schema":
        schema = DEFAULT_SCHEMA if cfg.json_schema is None else cfg.json_schema
        _check_schema(schema, f"{prefix}.json_schema")
        return Constraint("json_schema", schema)
    if cfg.kind == "regex":
        pattern = cfg.regex or DEFAULT_REGEX
        try:
            re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"{prefix}.regex: not a regular expression: {e}") from None
        return Constraint("regex", pattern)
    if cfg.kind == "choice":
        choices = list(cfg.choices) if cfg.choices is not None else DEFAULT_CHOICES
        if not choices or not all(isinstance(c, str) and c for c in choices):
            raise ConfigError(f"{prefix}.choices: need a non-empty list of non-empty strings")
        return Constraint("choice", choices)
    return Constraint("grammar", cfg.grammar or DEFAULT_GRAMMAR)


def _check_schema(schema: Any, key: str) -> None:
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        raise ConfigError(f"{key}: must be a JSON schema object")
    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as e:
        raise ConfigError(f"{key}: invalid JSON schema: {e.message}") from None


def constraint_of(body: dict[str, Any]) -> Constraint | None:
    """The constraint a request body carries (any of the three APIs), or None."""
    so = body.get("structured_outputs")
    if isinstance(so, dict):
        for kind, key in _STRUCTURED.items():
            if key in so:
                return Constraint(kind, so[key])
    for kind, key in _GUIDED.items():
        if key in body:
            return Constraint(kind, body[key])
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        return Constraint("json_schema", (rf.get("json_schema") or {}).get("schema", {}))
    return None


def is_valid(c: Constraint, text: str) -> bool | None:
    """Does `text` satisfy the constraint? None = not checkable here (grammars)."""
    if c.kind == "json_schema":
        from jsonschema import validators

        try:
            value = json.loads(text)
        except ValueError:
            return False
        return validators.validator_for(c.value)(c.value).is_valid(value)
    if c.kind == "regex":
        return re.fullmatch(c.value, text.strip()) is not None
    if c.kind == "choice":
        return text.strip() in c.value
    return None
