"""Structured config: the typed `RunSpec` and the ConfigStore schemas behind `conf/`.

Every field carries its help and limits (`instruments.options.option`): `python -m sweeper --help
GROUP` prints them and `RunSpec.validate()` enforces the limits. The schemas are stored in the
ConfigStore group `schema/` (`store_schema`), which no user picks from, so they never show up as
options of their group; each YAML option starts with
`defaults: [/schema/<group>/<kind>@_here_]` (or `/schema/<group>@_here_` for a group with one
schema), so a wrong type or an unknown key fails at composition with a message naming the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from instruments.errors import ConfigError
from instruments.options import check_limits, option
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds import check_server, server_kinds
from sweeper.client.config import LoadConfig
from sweeper.datasets import DATASET_KINDS, DatasetConfig
from sweeper.metrics.saturation import SaturationConfig

# conf/ sits beside the packages (design card layout); an absolute path works however we are run
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
# the ConfigStore group that holds the schemas: hidden from the option listings of the groups
SCHEMA_GROUP = "schema"


@dataclass
class TrackingConfig:
    """Where job and sweep runs are recorded (MLflow)."""

    enabled: bool = option(True, "record runs in MLflow (tracking=none turns it off)")
    uri: str = option("sqlite:///outputs/mlflow.db", "MLflow tracking URI")
    experiment: str = option("sweeper", "MLflow experiment of the job and sweep runs")
    artifact_location: str | None = option(
        None,
        "where a new experiment keeps its artifacts; null = beside the SQLite file "
        "(mlartifacts/), else MLflow's default",
    )
    log_artifacts: bool = option(True, "log the job dir's files as artifacts of its job run")
    timeout_s: float = option(
        10.0, "seconds an MLflow call may take before the job gives up on tracking"
    )
    baseline_tag: str | None = option(
        None,
        "tag the sweep's parent run as baseline NAME (tag sweeper.baseline); "
        "`python -m analysis compare --baseline NAME B` compares B with the newest such sweep",
    )


@dataclass
class ReportConfig:
    """The end-of-sweep report (python -m analysis report SWEEP makes one at any time)."""

    enabled: bool = option(
        True,
        "at the end of each multirun: PNGs + an HTML report in <sweep dir>/report, logged to "
        "the sweep's MLflow run",
    )


@dataclass
class SloConfig:
    """Service-level objectives for goodput; null = no bound on that metric."""

    ttft_ms: float | None = option(None, "bound on time to first token (ms)", gt=0)
    tpot_ms: float | None = option(None, "bound on time per output token (ms)", gt=0)
    e2el_ms: float | None = option(None, "bound on end-to-end latency (ms)", gt=0)

    def validate(self) -> None:
        # finite too, which a limit cannot say; the wording predates the limits
        for f in fields(self):
            bound = getattr(self, f.name)
            if bound is not None and not (bound > 0 and math.isfinite(bound)):
                raise ConfigError(
                    f"slo.{f.name}: must be a positive number of milliseconds, got {bound}"
                )


# result.json keys a sweep can optimize (vLLM's names)
OBJECTIVE = re.compile(
    r"request_throughput|request_goodput|output_throughput|total_token_throughput"
    r"|max_output_tokens_per_s|completed|failed|duration"
    r"|(mean|median|std|p\d+(\.\d+)?)_(ttft|tpot|itl|e2el)_ms"
)


@dataclass
class RunSpec:
    """One job: the top-level sweepable keys and the groups, which refer to them by
    interpolation (conf/config.yaml)."""

    concurrency: int | None = option(1, "requests in flight (closed loop); null = no cap")
    request_rate: float = option(
        float("inf"), "requests per second (open loop); inf = as fast as concurrency allows"
    )
    num_prompts: int = option(100, "requests per job")
    seed: int = option(0, "seed of the dataset and the arrival times; a job uses seed + repeat")
    repeats: int = option(
        1, "with -m, run every grid point this many times (repeat = 0..repeats-1)"
    )
    repeat: int = option(0, "which repeat this job is (set by -m from repeats)")
    run_seed: int = option(0, "seed + repeat, derived in conf/config.yaml (don't set it)")
    model: ModelConfig = field(default_factory=ModelConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    load: LoadConfig = field(default_factory=LoadConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    slo: SloConfig = field(default_factory=SloConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    saturation: SaturationConfig = field(default_factory=SaturationConfig)
    percentiles: list[float] = option(
        default_factory=lambda: [50.0, 90.0, 99.0],
        help="latency percentiles to report, in (0, 100]",
    )
    print_result: bool = option(True, "print the vLLM-style result block")
    resume: bool = option(
        False,
        "skip grid points whose config hash has a FINISHED job run in the experiment "
        "(rerun the rest)",
    )
    objective: str | None = option(
        None,
        "a result key (e.g. request_goodput) a job returns as its value, for optimizing "
        "sweepers (hydra/sweeper=optuna); null = the job returns its whole summary",
    )
    gpus_per_job: int = option(
        0,
        "GPUs per job: the server gets CUDA_VISIBLE_DEVICES from an allocation held across "
        "processes (parallel launchers); 0 = leave CUDA_VISIBLE_DEVICES alone",
        ge=0,
    )
    gpu_ids: list[str] | None = option(
        None,
        "the GPUs to allocate from; null = $CUDA_VISIBLE_DEVICES, else every GPU "
        "`nvidia-smi -L` lists",
    )
    min_success_fraction: float = option(
        0.25,
        "share of a job's measured requests that must complete for the job to be FINISHED; "
        "below it the job is FAILED with the counts (its records are kept). 0.25 lets an "
        "overload or fault-injection run whose requests mostly fail still finish",
        ge=0,
        le=1,
    )
    job_timeout_s: float | None = option(
        86400.0,
        "seconds one job may take from start to files written (prepare, server start, "
        "benchmark); on expiry the benchmark stops and the job is FAILED, the sweep goes on. "
        "The default (24 h) is beyond any normal job; null = no deadline",
        gt=0,
    )

    def validate(self) -> None:
        """Checks that cost milliseconds, before anything starts; each error names the key.
        The checks with their own wording come first, then every field's declared limits."""
        for key, known in unknown_keys(self):
            raise ConfigError(f"{key}: unknown key (known here: {', '.join(known)})")
        self.load.validate()
        if self.objective is not None and not OBJECTIVE.fullmatch(self.objective):
            raise ConfigError(
                f"objective: {self.objective!r} is not a result key "
                "(e.g. request_goodput, output_throughput, p99_ttft_ms)"
            )
        for p in self.percentiles:
            if not 0 < p <= 100:
                raise ConfigError(f"percentiles: {p} is not in (0, 100]")
        self.slo.validate()
        check_server(self.model, self.server)
        check_limits(self)


def unknown_keys(node: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """Keys added with `+key=value` that no schema declares (OmegaConf keeps them as extra
    attributes of the dataclass): (dotted key, the known keys beside it)."""
    known = [f.name for f in fields(node)]
    for name, value in vars(node).items():
        if name not in known:
            yield prefix + name, known
        elif is_dataclass(value) and not isinstance(value, type):
            yield from unknown_keys(value, f"{prefix}{name}.")


def open_maps(node: DictConfig) -> DictConfig:
    """Free-form maps of a schema (`load.extra_body`, `load.headers`, `server.env`,
    `server.args`, ...) take new keys from a plain override, `load.extra_body={temperature:0.7}`:
    Hydra puts the whole config in struct mode, and a node's own flag is what lifts it there."""
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            if child._metadata.object_type in (dict, None) and not child._is_missing():
                OmegaConf.set_struct(child, False)
            else:
                open_maps(child)
    return node


def _schema(cls: type) -> DictConfig:
    return open_maps(OmegaConf.structured(cls))


def schema_path(group: str, kind: str | None = None) -> str:
    """The ConfigStore path of a group's schema (of one kind, for a group whose options differ
    in schema): the YAML options name it as `- /<path>@_here_` in their defaults."""
    return f"{SCHEMA_GROUP}/{group}" if kind is None else f"{SCHEMA_GROUP}/{group}/{kind}"


def store_schema(cs: ConfigStore, group: str, kind: str | None, node: type) -> None:
    """Store the dataclass `node` as the schema of `group` (of its option kind `kind`)."""
    parent, name = schema_path(group, kind).rsplit("/", 1)
    cs.store(group=parent, name=name, node=_schema(node))


def register() -> None:
    """Our resolver and schemas into Hydra's ConfigStore; once per process (48 structured
    configs take a quarter of a second to build; the CLI and `--help` both ask)."""
    if not OmegaConf.has_resolver("add"):
        # ${add:${seed},${repeat}}: a distinct, recorded seed per repeat
        OmegaConf.register_new_resolver("add", lambda *xs: sum(int(x) for x in xs))
    cs = ConfigStore.instance()
    if SCHEMA_GROUP in cs.repo:  # stored already (a cleared store is filled again)
        return
    # conf/config.yaml's own schema
    store_schema(cs, "config", None, RunSpec)
    store_schema(cs, "model", None, ModelConfig)
    for name, server_kind in server_kinds().items():
        store_schema(cs, "server", name, server_kind.config)
    for name, dataset_node in DATASET_KINDS.items():
        store_schema(cs, "dataset", name, dataset_node)
    store_schema(cs, "load", None, LoadConfig)
    store_schema(cs, "tracking", None, TrackingConfig)
