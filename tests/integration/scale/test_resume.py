"""`resume=true` after a sweep killed midway reruns only the points that did not finish."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep
from tests.helpers.processes import Spawned, run_captured


class SharedStoreSweep(Sweep):
    """A sweep dir of its own, the MLflow store of the test (one experiment, two sweeps)."""

    store: Path

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.store}/mlflow.db"


GRID = ("-m", "concurrency=1,2,3,4", "request_rate=10", "num_prompts=30", "server.profile=fast")


def _job_runs(client: MlflowClient, exp_id: str, parent_id: str) -> list:
    query = f"tags.`sweeper.kind` = 'job' and tags.`mlflow.parentRunId` = '{parent_id}'"
    return client.search_runs([exp_id], query)


def test_killed_sweep_resumed_reruns_only_unfinished_points(tmp_path: Path) -> None:
    first = SharedStoreSweep(tmp_path / "a")
    first.store = tmp_path
    with Spawned(first.args(*GRID), stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as sweep:
        proc = sweep.proc
        deadline = time.monotonic() + 120
        # job 2's dir appears once job 1 is finished and tracked
        while not (first.sweep_dir / "2").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (first.sweep_dir / "2").exists(), "the sweep never reached job 2"
        time.sleep(1.0)  # job 2 is mid-benchmark (30 prompts at 10 req/s)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out[-2000:]

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp_id = client.get_experiment_by_name("sweeper").experiment_id
    (killed_parent,) = client.search_runs([exp_id], "tags.`sweeper.kind` = 'sweep'")
    runs = {
        r.data.params["concurrency"]: r
        for r in _job_runs(client, exp_id, killed_parent.info.run_id)
    }
    assert {c: r.info.status for c, r in runs.items()} == {
        "1": "FINISHED",
        "2": "FINISHED",
        "3": "KILLED",
    }
    # a FAILED point is rerun too: mark concurrency=2 as failed
    client.set_terminated(runs["2"].info.run_id, "FAILED")

    second = SharedStoreSweep(tmp_path / "b")
    second.store = tmp_path
    proc2 = run_captured(second.args(*GRID, "resume=true"), timeout=300)
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    skipped = [line for line in proc2.stdout.splitlines() if "skipped (resume)" in line]
    assert len(skipped) == 1 and skipped[0].startswith("[sweeper] job 0 skipped (resume)")
    assert runs["1"].info.run_id[:8] in skipped[0]

    parents = client.search_runs(
        [exp_id], "tags.`sweeper.kind` = 'sweep'", order_by=["attributes.start_time DESC"]
    )
    resumed = parents[0]
    assert resumed.info.run_id != killed_parent.info.run_id
    assert resumed.info.status == "FINISHED"
    assert resumed.data.tags["sweeper.resumed.0"] == runs["1"].info.run_id
    rerun = _job_runs(client, exp_id, resumed.info.run_id)
    assert sorted(r.data.params["concurrency"] for r in rerun) == ["2", "3", "4"]
    assert all(r.info.status == "FINISHED" for r in rerun)
    # the skipped point's result is carried into the new sweep's job dir
    carried = json.loads((second.sweep_dir / "0" / "result.json").read_text())
    assert carried["sweeper"]["resumed_from"] == runs["1"].info.run_id
    assert carried["completed"] == 30
    assert carried["sweeper"]["config_hash"] == runs["1"].data.tags["sweeper.config_hash"]
    assert len(list((second.sweep_dir / "servers").iterdir())) == 1
