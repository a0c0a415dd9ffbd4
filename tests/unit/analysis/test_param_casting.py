from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis.load_dirs import read_config_params
from analysis.params import cast_column, parse_scalar


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


def test_hydra_config_becomes_params_like_the_job_logs_them(tmp_path: Path) -> None:
    """Hydra's .hydra/config.yaml is unresolved; interpolations resolve, runtime-only ones
    (`${now:...}`) keep their text, lists become JSON, secrets are dropped."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(
        "concurrency: 8\nrequest_rate: .inf\nseed: 5\nrepeat: 2\n"
        "run_seed: ${add:${seed},${repeat}}\n"
        "load:\n  concurrency: ${concurrency}\n  stamp: ${now:%H}\n  headers: {}\n"
        "server:\n  env:\n    HF_TOKEN: hunter2\n  api_key_env: MY_KEY\n"
        "percentiles: [50.0, 99.0]\ndataset:\n  names: [a, b]\n"
    )
    params = read_config_params(tmp_path)
    assert params["load.concurrency"] == "8"
    assert params["run_seed"] == "7"  # sweeper's ${add:...} resolver
    assert params["request_rate"] == "inf"
    assert params["load.stamp"] == "${now:%H}"
    assert params["load.headers"] == "{}"
    assert params["percentiles"] == "[50.0, 99.0]"
    assert params["dataset.names"] == '["a", "b"]'
    assert params["server.api_key_env"] == "MY_KEY"
    assert "server.env.HF_TOKEN" not in params
    assert "hunter2" not in str(params)
