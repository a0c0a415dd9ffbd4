from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.grid import grid_shape, label_for, swept_params, x_values
from analysis.loader import Sweep


def test_swept_params_fold_interpolated_aliases(grid_2x3: Sweep) -> None:
    # load.concurrency mirrors concurrency (${concurrency}); seed/repeat never count
    assert swept_params(grid_2x3.runs) == ["params.concurrency", "params.server.profile"]


def test_default_shape_uses_concurrency_and_curves_by_profile(grid_2x3: Sweep) -> None:
    shape = grid_shape(grid_2x3.runs)
    assert shape.x == "params.concurrency"
    assert shape.series == ("params.server.profile",)
    assert shape.facet is None


def test_user_choices_win_and_unknown_param_is_named(grid_2x3: Sweep) -> None:
    shape = grid_shape(grid_2x3.runs, facet="server.profile")
    assert shape.series == ()
    assert shape.facet == "params.server.profile"
    with pytest.raises(AnalysisError, match="param 'nope' is not in the runs"):
        grid_shape(grid_2x3.runs, x="nope")
    with pytest.raises(AnalysisError, match=r"server.profile is not numeric \(fast, slow\)"):
        grid_shape(grid_2x3.runs, x="server.profile")


def test_rate_axis_draws_inf_beyond_the_largest_rate() -> None:
    frame = pd.DataFrame({"params.request_rate": [1.0, 4.0, math.inf]})
    xs, note = x_values(frame, "params.request_rate")
    assert xs.tolist() == [1.0, 4.0, 8.0]
    assert "inf drawn at 8" in note


def test_labels_join_series_params() -> None:
    frame = pd.DataFrame({"params.a": [1, 2], "params.b": ["x", "y"]})
    assert label_for(frame, ("params.a", "params.b")).tolist() == ["a=1, b=x", "a=2, b=y"]
    assert label_for(frame, ()).tolist() == ["all", "all"]
    assert np.all(label_for(frame, ("params.a",)).to_numpy() == np.array(["a=1", "a=2"]))
