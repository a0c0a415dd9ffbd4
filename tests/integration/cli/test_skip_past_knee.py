"""A real -m sweep on the simulator: the point whose server queue is held is saturated, the
one above it is skipped (job dir + MLflow run KILLED, tag SKIPPED), the sweep still passes;
`resume=true` then runs only the skipped point."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.helpers.cli import Sweep

# the knee's send span must hold >= 3 /metrics scrapes for its queue to count (0.5 s at 0.05 s)
GRID = (
    "-m", "concurrency=2,8,32", "server.max_num_seqs=2", "num_prompts=80",
    "dataset.output_len=32", "server.profile=fast", "server.metrics_interval_s=0.05",
    "print_result=false", "report.enabled=false",
)  # fmt: skip


def test_points_above_the_first_saturated_one_are_skipped(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(*GRID)
    assert proc.returncode == 0, proc.stderr[-3000:]
    low, knee, above = (r["sweeper"] for r in sweep.results())
    assert low["status"] == knee["status"] == "FINISHED"
    assert low["saturated"] is False, low["saturation_reason"]
    assert knee["saturated"] is True and "queue" in knee["saturation_reason"], knee
    assert above["status"] == "SKIPPED"
    assert above["skipped_reason"].startswith("past the knee: job 1 (concurrency=8)")
    assert "[sweeper] job 2 skipped: past the knee" in proc.stdout

    client = MlflowClient(sweep.uri)
    exp = client.get_experiment_by_name("sweeper")
    jobs = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'job'")
    by_num = {r.data.tags["sweeper.job_num"]: r for r in jobs}
    assert by_num["2"].info.status == "KILLED"
    assert by_num["2"].data.tags["sweeper.status"] == "SKIPPED"
    assert by_num["1"].data.tags["sweeper.saturated"] == "true"
    (parent,) = client.search_runs([exp.experiment_id], "tags.`sweeper.kind` = 'sweep'")
    assert parent.info.status == "FINISHED" and parent.data.tags["sweeper.jobs_skipped"] == "1"

    # resume: the finished points are carried (and skip nothing), the skipped one runs
    resumed = Resumed(tmp_path)
    proc = resumed.run(*GRID, "resume=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    carried_low, carried_knee, ran = (r["sweeper"] for r in resumed.results())
    assert carried_low["resumed_from"] and carried_knee["resumed_from"]
    assert ran["status"] == "FINISHED" and "resumed_from" not in ran


class Resumed(Sweep):
    """The same store, a second sweep dir."""

    @property
    def sweep_dir(self) -> Path:
        return self.root / "resumed"
