"""Param strings (as MLflow stores them) back to numbers.

Both loaders produce the strings with `sweeper.job.context.params` and cast them with `cast_column`,
so a sweep read from MLflow and the same sweep read from its job dirs give equal columns:
"8" → 8, "inf" → inf, "None" → missing, "True"/"false" → bool, anything else stays a string.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

NONE_STRINGS = frozenset({"None", "none", "null", ""})
TRUE_STRINGS = frozenset({"True", "true"})
FALSE_STRINGS = frozenset({"False", "false"})


def parse_scalar(text: str | None) -> Any:
    """One param string back to a Python value: int, float, bool, None or the string."""
    if text is None or text in NONE_STRINGS:
        return None
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def cast_column(values: Iterable[str | None]) -> pd.Series:
    """A column of param strings → the narrowest dtype all its values fit."""
    values = list(values)
    parsed = [parse_scalar(v) for v in values]
    present = [v for v in parsed if v is not None]
    if not present:
        return pd.Series(parsed, dtype=object)
    if all(isinstance(v, bool) for v in present):
        if len(present) == len(parsed):
            return pd.Series(parsed, dtype=bool)
        return pd.Series(parsed, dtype="boolean")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if len(present) == len(parsed):
            return pd.Series(parsed, dtype="int64")
        return pd.Series([math.nan if v is None else float(v) for v in parsed], dtype="float64")
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.Series([math.nan if v is None else float(v) for v in parsed], dtype="float64")
    return pd.Series(
        [None if v is None else t for v, t in zip(parsed, values, strict=False)], dtype=object
    )
