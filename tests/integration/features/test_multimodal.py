"""+experiment=multimodal end to end on the simulator: 1 and 4 synthetic images per request
through the chat backend; all succeed, the image count is kept per request."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, params_of, run_ok


def test_multimodal_preset(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep,
        "+experiment=multimodal",
        *FAST,
        "num_prompts=12",
        "dataset.image_sizes=[[64,48]]",
        "dataset.output_len=8",
    )
    assert [r["completed"] for r in results] == [12, 12]
    assert [r["backend"] for r in results] == ["openai-chat", "openai-chat"]
    assert [p["dataset.max_images"] for p in params_of(sweep)] == ["1", "4"]
    for job, count in (("0", "1"), ("1", "4")):
        frame = pd.read_parquet(sweep.sweep_dir / job / "requests.parquet")
        assert set(frame["label.images"]) == {count}
