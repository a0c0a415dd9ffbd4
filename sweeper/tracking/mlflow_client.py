"""MLflow tracking: one parent run per sweep, one child run per job.

Best effort: every call here may fail (dead tracking server, locked SQLite); callers catch
`TrackingError`, warn, and keep the job's files, which are complete without MLflow. HTTP stores get
no retries and a short timeout so a dead `tracking.uri` costs seconds, not minutes. Runs only after
the benchmark's event loop has finished.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from sweeper.schema import TrackingConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

PARAM_VALUE_MAX = 6000
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


class TrackingError(Exception):
    pass


@dataclass(frozen=True)
class Point:
    """One step of a time series metric."""

    key: str
    step: int
    value: float


def metric_key(key: str) -> str:
    return _BAD_KEY_CHARS.sub("_", key)[:250]


def numeric_items(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Finite numeric leaves of a nested dict as (dotted key, value); booleans excluded."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from numeric_items(value, name + ".")
        elif (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ):
            yield name, float(value)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _batches(params: list[Any], metrics: list[Any]) -> Iterator[tuple[list[Any], list[Any]]]:
    """(params, metrics) per log_batch call: at most BATCH_PARAMS params and BATCH_ENTITIES
    entities a call, as few calls as that allows."""
    p = m = 0
    while p < len(params) or m < len(metrics):
        batch_params = params[p : p + BATCH_PARAMS]
        batch_metrics = metrics[m : m + BATCH_ENTITIES - len(batch_params)]
        p, m = p + len(batch_params), m + len(batch_metrics)
        yield batch_params, batch_metrics


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (parallel jobs writing one SQLite store)."""
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def retry_locked(fn: Callable[[], T], attempts: int = 8) -> T:
    """Call `fn`, retrying with backoff while SQLite says it is locked. A locked write is rolled
    back by MLflow's session, so retrying it does not write twice."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as e:
            if not is_locked(e) or attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * (1 + random.random()))
    raise AssertionError("unreachable")


class _RetryingClient:
    """An MlflowClient whose calls retry on "database is locked"."""

    def __init__(self, client: MlflowClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr
        return lambda *a, **kw: retry_locked(lambda: attr(*a, **kw))


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def configure_http(timeout_s: float) -> None:
    """A dead tracking server must cost seconds, not minutes of retries. Process-wide (MLflow
    reads its environment); a value the user exported wins, else the first store's timeout.
    An `mlflow server` on this host is reached directly, not through `http_proxy` (requests
    honours `no_proxy`, which we extend by the loopback names)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, int(timeout_s))))
    for name in ("no_proxy", "NO_PROXY"):
        have = [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]
        if have != ["*"]:
            os.environ[name] = ",".join([*have, *(h for h in LOOPBACK if h not in have)])


def _default_artifact_location(uri: str) -> str | None:
    """SQLite stores keep artifacts beside the database file (absolute, so any cwd works)."""
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        return (db.parent / "mlartifacts").as_uri()
    return None


# MLflow 3's UI opens an experiment in its GenAI view (traces) unless its kind says otherwise:
# the tag its experiment page reads, and the kind whose first screen is the runs table
EXPERIMENT_KIND = "mlflow.experimentKind"
CUSTOM_MODEL_DEVELOPMENT = "custom_model_development"
# the experiment's description (the UI's "About this experiment"), set when sweeper creates it:
# the UI keeps column choices in the browser (local storage), so this says which to pick
EXPERIMENT_NOTE = (
    "Benchmark runs from sweeper: one parent run per sweep (`sweep-<date>_<time>`, expand it "
    "for its jobs), one child run per grid point, named by its swept keys "
    "(`concurrency=16`). Columns worth adding (Columns menu; MLflow keeps the choice in this "
    "browser): metrics `output_throughput`, `request_throughput`, `p99_ttft_ms`, "
    "`median_tpot_ms`, `sweeper.saturated`; tags `sweeper.status`, `sweeper.saturation_reason`."
)
EXPERIMENT_TAGS = {
    EXPERIMENT_KIND: CUSTOM_MODEL_DEVELOPMENT,
    "mlflow.note.content": EXPERIMENT_NOTE,
}
# MLflow 3.17's UI takes the kind from its sidebar switch (GenAI | Model training), kept in the
# browser, unless the URL names it: the runs table of an experiment opens at this route
RUNS_ROUTE = "#/experiments/{id}/runs?workflowType=machine_learning"


def experiment_url(tracking_uri: str, experiment_id: str) -> str:
    """Where the experiment's runs table opens: on the tracking server, or (a local store)
    the route to append to `mlflow ui`'s address."""
    route = RUNS_ROUTE.format(id=experiment_id)
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/{route}"
    return f"mlflow ui --backend-store-uri {tracking_uri}, then http://127.0.0.1:5000/{route}"


# one MlflowClient per tracking URI for the whole process: a client for a SQLite store opens an
# engine and checks the schema (a good part of a second), which every job would repeat
_CLIENTS: dict[str, Any] = {}
# (tracking URI, experiment name) -> experiment id, found or created once per process
_EXPERIMENTS: dict[tuple[str, str], str] = {}

# what one MLflow log_batch call takes at most
BATCH_PARAMS = 100
BATCH_ENTITIES = 1000


def shared_client(uri: str, timeout_s: float) -> MlflowClient:
    """The process's MlflowClient for `uri` (made on first use)."""
    client = _CLIENTS.get(uri)
    if client is None:
        configure_http(timeout_s)
        from mlflow.tracking import MlflowClient

        client = _CLIENTS[uri] = MlflowClient(tracking_uri=uri)
    return client


class Tracker:
    def __init__(self, cfg: TrackingConfig) -> None:
        self.cfg = cfg
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = _EXPERIMENTS.get((cfg.uri, cfg.experiment))

    def _mlflow(self) -> MlflowClient:
        if self._client is None:
            if self.cfg.uri.startswith("sqlite:///"):
                Path(self.cfg.uri.removeprefix("sqlite:///")).parent.mkdir(
                    parents=True, exist_ok=True
                )
            self._client = _RetryingClient(shared_client(self.cfg.uri, self.cfg.timeout_s))  # type: ignore[assignment]
        return self._client  # type: ignore[return-value]

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            client = self._mlflow()
            exp = client.get_experiment_by_name(self.cfg.experiment)
            if exp is not None:
                self._experiment_id = exp.experiment_id
                tags = exp.tags or {}
            else:
                location = self.cfg.artifact_location or _default_artifact_location(self.cfg.uri)
                self._experiment_id = client.create_experiment(
                    self.cfg.experiment, artifact_location=location, tags=EXPERIMENT_TAGS
                )
                tags = EXPERIMENT_TAGS
            if tags.get(EXPERIMENT_KIND) != CUSTOM_MODEL_DEVELOPMENT:
                # an experiment made elsewhere, or one the UI guessed a kind for
                client.set_experiment_tag(
                    self._experiment_id, EXPERIMENT_KIND, CUSTOM_MODEL_DEVELOPMENT
                )
            _EXPERIMENTS[(self.cfg.uri, self.cfg.experiment)] = self._experiment_id
        return self._experiment_id

    def _guard(self, what: str) -> _Guard:
        return _Guard(what, self.cfg.uri)

    def start_run(self, name: str, tags: Mapping[str, str], parent_id: str | None = None) -> str:
        with self._guard("create run"):
            all_tags = dict(tags)
            if parent_id:
                all_tags["mlflow.parentRunId"] = parent_id
            run = self._mlflow().create_run(self.experiment_id(), run_name=name, tags=all_tags)
            return run.info.run_id

    def end_run(self, run_id: str, status: str) -> None:
        with self._guard("end run"):
            self._mlflow().set_terminated(run_id, status=status)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        with self._guard("set tags"):
            items = [RunTag(k, str(v)[:PARAM_VALUE_MAX]) for k, v in tags.items()]
            for chunk in _chunks(items, 100):
                self._mlflow().log_batch(run_id, tags=chunk)

    def log_job(
        self,
        run_id: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float],
        series: Iterable[Point] = (),
    ) -> None:
        from mlflow.entities import Metric, Param

        with self._guard("log params and metrics"):
            client = self._mlflow()
            now = int(time.time() * 1000)
            plist = [Param(k[:250], str(v)[:PARAM_VALUE_MAX]) for k, v in params.items()]
            mlist = [Metric(metric_key(k), v, now, 0) for k, v in metrics.items()]
            mlist += [Metric(metric_key(p.key), p.value, now, p.step) for p in series]
            # params and metrics share calls: a job's few hundred of each go in one or two
            for batch_params, batch_metrics in _batches(plist, mlist):
                client.log_batch(run_id, params=batch_params, metrics=batch_metrics)

    def log_artifacts(
        self, run_id: str, directory: Path, exclude: frozenset[str] = frozenset()
    ) -> None:
        """The files of `directory`, less the top-level entries named in `exclude`."""
        with self._guard("log artifacts"):
            client = self._mlflow()
            if not any((directory / name).exists() for name in exclude):
                client.log_artifacts(run_id, str(directory))  # the whole folder in one call
                return
            for entry in sorted(directory.iterdir()):
                if entry.name in exclude:
                    continue
                if entry.is_dir():
                    client.log_artifacts(run_id, str(entry), artifact_path=entry.name)
                elif entry.is_file():
                    client.log_artifact(run_id, str(entry))


class _Guard:
    """Turn any MLflow failure into one TrackingError line."""

    def __init__(self, what: str, uri: str) -> None:
        self.what, self.uri = what, uri

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or not isinstance(exc, Exception):
            return
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrackingError(f"MLflow ({self.uri}) could not {self.what}: {first[:300]}") from exc


def preload() -> None:
    """What every tracked sweep imports (the tracking helper does it before it is asked)."""
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    from mlflow.entities import Metric  # noqa: F401
    from mlflow.tracking import MlflowClient  # noqa: F401


@dataclass
class JobRunEntry:
    """A job's child run, whole: what `write_job_run` records in one go."""

    job: str  # "job 3", as the warnings name it
    job_dir: Path
    name: str
    tags: dict[str, str]
    parent_id: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    series: list[Point]
    log_artifacts: bool
    status: str

    def not_tracked(self, why: object) -> str:
        return f"{self.job} not tracked (its files are in {self.job_dir}): {why}"


def write_job_run(cfg: TrackingConfig, entry: JobRunEntry) -> list[str]:
    """Create, fill and end the run; what went wrong as warnings."""
    tracker = Tracker(cfg)
    try:
        run_id = tracker.start_run(entry.name, entry.tags, entry.parent_id)
    except TrackingError as e:
        return [entry.not_tracked(e)]
    problems = []
    try:
        tracker.log_job(run_id, entry.params, entry.metrics, entry.series)
        if entry.log_artifacts:
            # a single run keeps its servers' work dirs (sockets, caches) inside the job dir
            tracker.log_artifacts(run_id, entry.job_dir, exclude=frozenset({"servers"}))
    except TrackingError as e:
        problems.append(f"{entry.job} partly tracked (its files are in {entry.job_dir}): {e}")
    try:
        tracker.end_run(run_id, entry.status)
    except TrackingError as e:
        problems.append(f"{entry.job}: MLflow run {run_id} not closed: {e}")
    return problems


# the Tracker methods the helper runs (sweeper.tracking.sidecar)
TRACKER_OPS = ("experiment_id", "start_run", "end_run", "set_tags", "log_job", "log_artifacts")
