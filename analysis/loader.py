"""One entry point for reading runs: a sweep (by MLflow run id / name, or its dir) or a whole
experiment, always as the runs DataFrame of `analysis.frame`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError
from analysis.load_dirs import find_sweep_dirs, is_sweep_dir, load_sweep_dir, sweep_name_for_dir
from analysis.load_mlflow import (
    DEFAULT_EXPERIMENT,
    DEFAULT_TRACKING_URI,
    client_for,
    load_experiment_runs,
    load_sweep_runs,
    resolve_sweep_run,
)
from analysis.load_sqlite import load_experiment_sqlite, load_sweep_sqlite


@dataclass
class Sweep:
    """The runs of one sweep and where they came from."""

    name: str
    runs: pd.DataFrame
    sweep_dir: Path | None
    sweep_run_id: str | None
    tracking_uri: str | None

    @property
    def simulated(self) -> bool:
        return bool(self.runs["simulated"].any())


def sqlite_path(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///"))
    return None


def check_store(tracking_uri: str, what: str) -> None:
    """Refuse to read a SQLite store that does not exist (MLflow would create an empty one)."""
    path = sqlite_path(tracking_uri)
    if path is not None and not path.is_file():
        raise AnalysisError(f"{what}: not a sweep dir, and no MLflow store at {path}")


def load_sweep(
    source: str | Path,
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment: str = DEFAULT_EXPERIMENT,
    fast: bool = True,
) -> Sweep:
    """A sweep by dir (job dirs), or by MLflow sweep run id or run name. `fast` reads a SQLite
    store with plain SQL (same result as MLflow's client, much quicker)."""
    path = Path(source)
    if path.is_dir():
        if not is_sweep_dir(path):
            raise AnalysisError(f"{path} holds no job dirs (<job_num>/result.json)")
        path = path.resolve()
        return Sweep(sweep_name_for_dir(path), load_sweep_dir(path), path, None, None)
    check_store(tracking_uri, str(source))
    db = sqlite_path(tracking_uri)
    if db is not None and fast:
        found, runs = load_sweep_sqlite(db, str(source), experiment)
        sweep_dir = Path(found.sweep_dir) if found.sweep_dir else None
        return Sweep(found.name, runs, sweep_dir, found.run_id, tracking_uri)
    client = client_for(tracking_uri)
    run = resolve_sweep_run(client, str(source), experiment)
    runs = load_sweep_runs(client, run)
    tag_dir = run.data.tags.get("sweeper.sweep_dir")
    sweep_dir = Path(tag_dir) if tag_dir else None
    return Sweep(
        run.info.run_name or run.info.run_id, runs, sweep_dir, run.info.run_id, tracking_uri
    )


def load_experiment(
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment: str = DEFAULT_EXPERIMENT,
    fast: bool = True,
) -> pd.DataFrame:
    """Every job run of an experiment."""
    check_store(tracking_uri, f"experiment {experiment!r}")
    db = sqlite_path(tracking_uri)
    if db is not None and fast:
        return load_experiment_sqlite(db, experiment)
    return load_experiment_runs(client_for(tracking_uri), experiment)


def load_dirs_root(root: Path) -> pd.DataFrame:
    """Every sweep found under `root` (e.g. outputs/sweeps), from job dirs."""
    dirs = find_sweep_dirs(root)
    if not dirs:
        raise AnalysisError(f"no sweep dirs under {root}")
    frames = [load_sweep_dir(d) for d in dirs]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
