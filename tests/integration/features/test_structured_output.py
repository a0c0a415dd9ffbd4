"""+experiment=structured_output end to end on the simulator: the ratio sweep attaches the
constraint to 0 / half / all requests, the outputs are validated after the run and the
validity share lands in MLflow. The simulator's text (" tok tok …") satisfies no schema, so
the share is 0 here: a check that validation rejects what does not conform."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, job_metrics, run_ok


def test_structured_output_ratio_sweep(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep, "+experiment=structured_output", *FAST, "num_prompts=20", "concurrency=8"
    )
    extras = [r["sweeper"] for r in results]
    assert "structured_output_checked" not in extras[0]
    assert [e.get("structured_output_checked") for e in extras[1:]] == [10, 20]
    assert [e["structured_output_valid_rate"] for e in extras[1:]] == [0.0, 0.0]
    assert extras[1]["structured_output.none.completed"] == 10
    assert extras[1]["structured_output.json_schema.completed"] == 10
    # the instruction makes constrained prompts longer
    assert results[2]["total_input_tokens"] > results[0]["total_input_tokens"]
    metrics = job_metrics(sweep)
    assert "sweeper.structured_output_valid_rate" not in metrics[0]
    assert metrics[2]["sweeper.structured_output_valid_rate"] == 0.0
    assert metrics[2]["sweeper.structured_output_checked"] == 20
