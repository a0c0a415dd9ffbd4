from __future__ import annotations

import math

import pandas as pd

from analysis.params import cast_column, flatten, parse_scalar, stringify


def test_flatten_dotted_keys_keeps_lists_and_empty_dicts_as_leaves() -> None:
    flat = flatten({"a": 1, "b": {"c": None, "d": {"e": [1, 2]}}, "f": {}})
    assert flat == {"a": 1, "b.c": None, "b.d.e": [1, 2], "f": {}}


def test_stringify_matches_mlflow_param_strings() -> None:
    assert stringify(math.inf) == "inf"
    assert stringify(None) == "None"
    assert stringify(8) == "8"
    assert stringify(0.5) == "0.5"
    assert stringify(True) == "True"


def test_parse_scalar_each_kind() -> None:
    assert parse_scalar("8") == 8 and isinstance(parse_scalar("8"), int)
    assert parse_scalar("inf") == math.inf
    assert parse_scalar("None") is None
    assert parse_scalar("false") is False
    assert parse_scalar("fast") == "fast"


def test_int_column_becomes_int64() -> None:
    col = cast_column(["1", "8", "32"])
    assert col.dtype == "int64"
    assert col.tolist() == [1, 8, 32]


def test_rate_column_with_inf_and_none_becomes_float() -> None:
    col = cast_column(["1", "inf", "None"])
    assert col.dtype == "float64"
    assert col.iloc[0] == 1.0 and math.isinf(col.iloc[1]) and math.isnan(col.iloc[2])


def test_bool_and_mixed_columns() -> None:
    assert cast_column(["True", "false"]).tolist() == [True, False]
    mixed = cast_column(["8", "fast", None])
    assert mixed.dtype == object
    assert mixed.tolist() == ["8", "fast", None]


def test_all_none_column_is_object_of_none() -> None:
    col = cast_column(["None", "None"])
    assert col.isna().all()
    assert isinstance(col, pd.Series)
