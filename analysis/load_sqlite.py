"""Fast path for MLflow's SQLite store: read runs, tags, params and latest metrics with plain SQL
(read-only), skipping SQLAlchemy's per-run objects. Gives the same rows as `load_mlflow`, which
stays the path for every other store (tests hold the two equal)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import AnalysisError
from analysis.frame import build_frame
from analysis.load_mlflow import job_row_from

JOBS_OF_SWEEP = """
SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid
WHERE r.lifecycle_stage = 'active' AND t.key = 'mlflow.parentRunId' AND t.value = ?
  AND NOT EXISTS (SELECT 1 FROM tags k WHERE k.run_uuid = r.run_uuid
                  AND k.key = 'sweeper.kind' AND k.value != 'job')
"""
RUNS_OF_KIND = """
SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid
WHERE r.lifecycle_stage = 'active' AND r.experiment_id = ?
  AND t.key = 'sweeper.kind' AND t.value = ?
"""


@dataclass(frozen=True)
class SweepRun:
    run_id: str
    name: str
    experiment_id: str
    sweep_dir: str | None


@contextmanager
def connect(db: Path) -> Iterator[sqlite3.Connection]:
    if not db.is_file():
        raise AnalysisError(f"no MLflow store at {db}")
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        yield conn


def experiment_id(conn: sqlite3.Connection, experiment: str) -> str:
    row = conn.execute(
        "SELECT experiment_id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'",
        (experiment,),
    ).fetchone()
    if row is None:
        raise AnalysisError(f"MLflow experiment {experiment!r} not found in {db_name(conn)}")
    return str(row[0])


def db_name(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA database_list").fetchone()[2])


def sweep_run(conn: sqlite3.Connection, source: str, experiment: str) -> SweepRun:
    """A sweep run by id (any experiment) or by name (latest of that name in `experiment`)."""
    query = """
        SELECT r.run_uuid, r.name, r.experiment_id, r.start_time,
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'sweeper.kind'),
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'sweeper.sweep_dir')
        FROM runs r WHERE r.lifecycle_stage = 'active' AND {where}
    """
    rows = conn.execute(query.format(where="r.run_uuid = ?"), (source,)).fetchall()
    if rows and rows[0][4] != "sweep":
        raise AnalysisError(f"MLflow run {source} is not a sweep run (tag sweeper.kind=sweep)")
    if not rows:
        exp_id = experiment_id(conn, experiment)
        rows = [
            r
            for r in conn.execute(
                query.format(where="r.name = ? AND r.experiment_id = ?"), (source, exp_id)
            ).fetchall()
            if r[4] == "sweep"
        ]
    if not rows:
        raise AnalysisError(
            f"no sweep run with id or name {source!r} in experiment {experiment!r} "
            f"at {db_name(conn)}"
        )
    run_id, name, exp, _, _, sweep_dir = max(rows, key=lambda r: r[3] or 0)
    return SweepRun(run_id, name or run_id, str(exp), sweep_dir)


def key_values(
    conn: sqlite3.Connection,
    table: str,
    ids_sql: str,
    args: tuple[object, ...],
    value_sql: str = "value",
) -> dict[str, dict[str, Any]]:
    """run id → key → value, as SQLite returns it (TEXT for tags and params; REAL, or the text
    'nan' from `value_sql`, for metrics)."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    rows = conn.execute(
        f"SELECT run_uuid, key, {value_sql} FROM {table} WHERE run_uuid IN ({ids_sql})", args
    )
    for run_id, key, value in rows:
        out[run_id][key] = value
    return out


def load_jobs(
    conn: sqlite3.Connection, ids_sql: str, args: tuple[object, ...], sweeps: list[SweepRun]
) -> pd.DataFrame:
    status = dict(
        conn.execute(
            f"SELECT run_uuid, status FROM runs WHERE run_uuid IN ({ids_sql})", args
        ).fetchall()
    )
    tags = key_values(conn, "tags", ids_sql, args)
    params = key_values(conn, "params", ids_sql, args)
    metrics = key_values(
        conn, "latest_metrics", ids_sql, args, "CASE WHEN is_nan THEN 'nan' ELSE value END"
    )
    names = {s.run_id: (s.name, s.sweep_dir) for s in sweeps}
    rows = [
        job_row_from(
            run_id,
            status[run_id],
            tags[run_id],
            params[run_id],
            {k: float(v) for k, v in metrics[run_id].items()},
            names,
        )
        for run_id in status
    ]
    return build_frame(rows)


def load_sweep_sqlite(db: Path, source: str, experiment: str) -> tuple[SweepRun, pd.DataFrame]:
    """The sweep run and its job runs' frame."""
    with connect(db) as conn:
        sweep = sweep_run(conn, source, experiment)
        frame = load_jobs(conn, JOBS_OF_SWEEP, (sweep.run_id,), [sweep])
    if frame.empty:
        raise AnalysisError(f"sweep run {sweep.name} ({sweep.run_id}) has no job runs")
    return sweep, frame


def load_experiment_sqlite(db: Path, experiment: str) -> pd.DataFrame:
    """Every job run of an experiment."""
    with connect(db) as conn:
        exp_id = experiment_id(conn, experiment)
        sweeps = [
            SweepRun(r[0], r[1] or r[0], exp_id, r[2])
            for r in conn.execute(
                "SELECT r.run_uuid, r.name, (SELECT value FROM tags WHERE run_uuid = r.run_uuid"
                " AND key = 'sweeper.sweep_dir') FROM runs r WHERE r.run_uuid IN "
                f"({RUNS_OF_KIND})",
                (exp_id, "sweep"),
            ).fetchall()
        ]
        frame = load_jobs(conn, RUNS_OF_KIND, (exp_id, "job"), sweeps)
    if frame.empty:
        raise AnalysisError(f"MLflow experiment {experiment!r} holds no job runs")
    return frame
