"""+experiment=tune_server: Optuna picks server params; every trial is a tracked job and the
study's answer lands on the sweep run."""

from __future__ import annotations

from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep


def test_optuna_tuning_trials_are_jobs_and_best_is_the_max_goodput(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "+experiment=tune_server", "server.profile=fast", "hydra.sweeper.n_trials=3",
        "num_prompts=30", "request_rate=300", "print_result=false", "report.enabled=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    best = yaml.safe_load((sweep.sweep_dir / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) >= {"server.max_num_seqs", "server.max_num_batched_tokens"}

    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    runs = client.search_runs([exp.experiment_id])
    jobs = [r for r in runs if r.data.tags.get("sweeper.kind") == "job"]
    (parent,) = [r for r in runs if r.data.tags.get("sweeper.kind") == "sweep"]
    assert len(jobs) == 3 and all(r.info.status == "FINISHED" for r in jobs)
    goodputs = [r.data.metrics["request_goodput"] for r in jobs]
    assert best["best_value"] == max(goodputs)
    assert parent.data.metrics["optuna.best_value"] == max(goodputs)
    seqs = parent.data.tags["optuna.best.server.max_num_seqs"]
    assert seqs == str(best["best_params"]["server.max_num_seqs"])


def test_unknown_objective_is_one_line_before_any_server(tmp_path: Path) -> None:
    proc = Sweep(tmp_path).run("objective=goodness", "tracking=none")
    assert proc.returncode == 1
    assert "objective: 'goodness' is not a result key" in proc.stderr
    assert not (tmp_path / "run" / "servers").exists()
