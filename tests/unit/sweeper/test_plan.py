"""The dry-run plan: grid size, server starts in the BasicSweeper's order, diff against history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from instruments.errors import ConfigError
from sweeper.plan import diff_lines, make_plan, render
from sweeper.schema import CONF_DIR

REPO = Path(__file__).resolve().parents[3]


def test_two_server_configs_by_three_loads_is_six_jobs_two_starts() -> None:
    plan = make_plan(
        ["-m", "server.max_num_seqs=64,128", "concurrency=1,8,32", "tracking=none"], CONF_DIR
    )
    assert len(plan.jobs) == 6
    assert plan.starts == 2
    assert [j.starts_server for j in plan.jobs] == [True, False, False, True, False, False]
    assert len({j.fingerprint for j in plan.jobs}) == 2
    assert len({j.config_hash for j in plan.jobs}) == 6
    assert plan.jobs[4].overrides == ["server.max_num_seqs=128", "concurrency=8"]
    assert not any("distinct server configs" in n for n in plan.notes)


def test_server_key_varied_fastest_needs_six_starts_and_says_so() -> None:
    plan = make_plan(
        ["-m", "concurrency=1,8,32", "server.max_num_seqs=64,128", "tracking=none"], CONF_DIR
    )
    assert len(plan.jobs) == 6 and plan.starts == 6
    text = render(plan)
    assert "6 jobs, 6 server starts" in text
    assert "list server.max_num_seqs first in -m (slowest) to need 2" in text


def test_load_only_sweep_shares_one_server_and_estimates_open_loop_time() -> None:
    plan = make_plan(
        ["-m", "request_rate=2,4", "concurrency=null", "num_prompts=40", "tracking=none"], CONF_DIR
    )
    assert plan.starts == 1
    assert [j.estimate_s for j in plan.jobs] == [20.0, 10.0]
    total, unknown = plan.estimate_s()
    assert unknown == 0 and total > 30.0


def test_bad_value_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"at server\.max_num_seqs"):
        make_plan(["-m", "server.max_num_seqs=64,abc"], CONF_DIR)


def _fake_sweep(uri: str, name: str, jobs: list[tuple[str, dict[str, str]]]) -> None:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("sweeper") or None
    exp_id = exp.experiment_id if exp else client.create_experiment("sweeper")
    parent = client.create_run(exp_id, run_name=name, tags={"sweeper.kind": "sweep"})
    for h, params in jobs:
        tags = {"sweeper.kind": "job", "sweeper.config_hash": h, "mlflow.parentRunId": ""}
        tags["mlflow.parentRunId"] = parent.info.run_id
        run = client.create_run(exp_id, tags=tags)
        for k, v in params.items():
            client.log_param(run.info.run_id, k, v)
        client.log_metric(run.info.run_id, "duration", 7.0)
        client.set_terminated(run.info.run_id, "FINISHED")
    client.set_terminated(parent.info.run_id, "FINISHED")


def test_diff_against_last_sweep_of_the_experiment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    args = ["-m", "server.max_num_seqs=64,128", "concurrency=1,8,32", f"tracking.uri={uri}"]
    plan = make_plan(args, CONF_DIR)
    by_conc = {
        j.params["concurrency"]: j for j in plan.jobs if j.params["server.max_num_seqs"] == "64"
    }
    # the last sweep ran max_num_seqs=64 at concurrency 1, 8 and 16
    old = [(by_conc[c].config_hash, by_conc[c].params) for c in ("1", "8")]
    old.append(("0" * 16, {**by_conc["8"].params, "concurrency": "16"}))
    _fake_sweep(uri, "sweep-old", [(h, p) for h, p in old[:1]])
    _fake_sweep(uri, "sweep-last", old)
    plan = make_plan(args, CONF_DIR)
    assert plan.last is not None and plan.last.name == "sweep-last"
    lines = diff_lines(plan)
    assert "2 same, 4 new, 1 dropped" in lines[0]
    assert "  concurrency: {1,8,16} -> {1,8,32}" in lines
    assert "  server.max_num_seqs: {64} -> {64,128}" in lines
    # history gives the estimate of points measured before
    assert [j.estimate_s for j in plan.jobs[:2]] == [7.0, 7.0]
    assert plan.jobs[2].estimate_s is None
    # resume=true leaves the config hash alone and marks the points it would skip
    resumed = make_plan([*args, "resume=true"], CONF_DIR)
    assert [j.config_hash for j in resumed.jobs] == [j.config_hash for j in plan.jobs]
    assert [j.skipped_by_resume for j in resumed.jobs] == [True, True, False] + [False] * 3
    assert resumed.starts == 2 and "2 skipped by resume" in render(resumed)


def test_plan_true_on_the_cli_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "sweeper", "-m", "server.max_num_seqs=64,128",
            "concurrency=1,8,32", "plan=true", f"tracking.uri=sqlite:///{tmp_path}/m.db",
            f"hydra.sweep.dir={tmp_path}/sweep",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Plan: 6 jobs, 2 server starts" in proc.stdout
    assert "no earlier sweep in this experiment" in proc.stdout
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "m.db").exists()
