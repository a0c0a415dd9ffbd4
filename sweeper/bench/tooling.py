"""What the tool costs around the benchmark: `--help`, `--cfg job`, `plan=true`, orchestration
seconds per job of a sweep (beyond the benchmark itself), analysis of 1,000 runs and the sync
of 1,000 job dirs into MLflow (those two through `scripts/bench_analysis.py`: analysis is a
layer above sweeper, so it runs in its own process)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from sweeper.bench.clients import REPO, _env
from sweeper.bench.procs import Child


def _timed(argv: list[str], cwd: Path, timeout_s: float = 300) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = Child(argv, env=_env(), cwd=cwd).run(timeout_s)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{argv[2:6]} exited with {done.returncode}:\n{done.output[-3000:]}")
    return wall, done.output


def startup_s(workdir: Path, repeats: int) -> dict[str, float]:
    """Median wall seconds of `--help`, `--cfg job` and `plan=true` (one job, nothing started)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cases = {
        "help_s": ["--help"],
        "cfg_job_s": ["--cfg", "job"],
        "plan_s": ["plan=true", "tracking=none", f"hydra.run.dir={workdir / 'plan'}"],
    }
    out: dict[str, float] = {}
    for key, args in cases.items():
        walls = [_timed([sys.executable, "-m", "sweeper", *args], workdir)[0]
                 for _ in range(repeats)]  # fmt: skip
        out[key] = statistics.median(walls)
    return out


def orchestration_s_per_job(workdir: Path, points: int, num_prompts: int) -> dict[str, float]:
    """A `points`-job sweep on the simulator's fast profile with SQLite tracking: wall seconds
    per job beyond the benchmarks' own durations (the end-of-sweep report is off). The store
    exists already (a one-job sweep made it, untimed): creating a SQLite store's tables takes
    seconds once, not per job, and a user's store is there from the first sweep on."""
    concurrencies = ",".join(str(2**i) for i in range(points))
    sweep = workdir / "sweep"
    common = [
        sys.executable, "-m", "sweeper", "-m", "server.profile=fast", "load.progress=false",
        "report.enabled=false", f"tracking.uri=sqlite:///{workdir}/mlflow.db",
    ]  # fmt: skip
    _timed([*common, "concurrency=1", "num_prompts=2", f"hydra.sweep.dir={workdir / 'first'}"],
           workdir, timeout_s=600)  # fmt: skip
    argv = [*common, f"concurrency={concurrencies}", f"num_prompts={num_prompts}",
            f"hydra.sweep.dir={sweep}"]  # fmt: skip
    wall, _ = _timed(argv, workdir, timeout_s=600)
    results = sorted((d / "result.json" for d in sweep.iterdir() if d.name.isdigit()),
                     key=lambda p: int(p.parent.name))  # fmt: skip
    if len(results) != points:
        raise RuntimeError(f"orchestration sweep: {len(results)} of {points} jobs wrote results")
    durations = [json.loads(p.read_text())["duration"] for p in results]
    # jobs after the first: from one job's result.json to the next's, less that benchmark (the
    # one-time start, MLflow's import and the server's start, left out)
    ends = [p.stat().st_mtime for p in results]
    steady = [ends[k] - ends[k - 1] - durations[k] for k in range(1, points)]
    return {
        "orchestration_s_per_job": (wall - sum(durations)) / points,
        "orchestration_steady_s_per_job": sum(steady) / len(steady),
        "sweep_wall_s": wall,
    }


def analysis_s(workdir: Path, runs: int) -> dict[str, float]:
    """Sync `runs` synthetic job dirs into a SQLite MLflow store, then load and report them."""
    argv = [sys.executable, str(REPO / "scripts" / "bench_analysis.py"), str(workdir), str(runs)]
    _, output = _timed(argv, workdir.parent, timeout_s=600)
    line = next(x for x in output.splitlines() if x.startswith('{"sync_s"'))
    figures: dict[str, float] = json.loads(line)
    return figures
