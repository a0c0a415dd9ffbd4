"""`hydra/sweeper=slo_search` against the simulator: every trial a tracked job, the answer a
metric on the sweep's parent run."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep

SERVER = ("server.max_num_seqs=2", "dataset.input_len=64", "dataset.output_len=16")


def test_three_trial_search_tracks_each_trial_and_the_answer(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "hydra/sweeper=slo_search", "concurrency=null", "num_prompts=60", *SERVER,
        "hydra.sweeper.low=4", "hydra.sweeper.high=64", "hydra.sweeper.max_trials=3",
        "print_result=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((sweep.sweep_dir / "slo_search.json").read_text())
    (server,) = report["servers"]
    loads = [t["load"] for t in server["trials"]]
    assert len(loads) == 3 and abs(loads[0] - 16.0) < 1e-6  # geometric midpoint of [4, 64]
    passed = [t["load"] for t in server["trials"] if t["passed"]]
    assert server["capacity"] == (max(passed) if passed else None)
    # bisection: each next load lies between the highest pass and the lowest fail so far
    for i in range(1, 3):
        lo = max([4.0] + [t["load"] for t in server["trials"][:i] if t["passed"]])
        hi = min([64.0] + [t["load"] for t in server["trials"][:i] if not t["passed"]])
        assert lo < loads[i] < hi
    assert proc.stdout.count("[slo_search] server request_rate=") == 3

    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    (parent,) = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'sweep'")
    jobs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    assert len(jobs) == 3
    assert {j.data.tags["mlflow.parentRunId"] for j in jobs} == {parent.info.run_id}
    assert sorted(float(j.data.params["request_rate"]) for j in jobs) == sorted(
        round(x, 4) for x in loads
    )
    assert parent.data.metrics["slo_search.trials"] == 3
    if server["capacity"] is not None:
        assert abs(parent.data.metrics["slo_capacity.request_rate"] - server["capacity"]) < 1e-9


def test_unknown_slo_key_is_one_line_before_any_server(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "hydra/sweeper=slo_search", "tracking=none", "+hydra.sweeper.slo.p99_ttft=500"
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        "[sweeper] hydra.sweeper.slo.p99_ttft: not a latency metric of the summary "
        "(e.g. p99_ttft_ms, mean_tpot_ms)"
    )
    assert "Traceback" not in proc.stderr
    assert not (sweep.sweep_dir / "servers").exists()
