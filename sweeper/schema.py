"""Structured config: the typed `RunSpec` and the ConfigStore schemas behind `conf/`.

Each YAML option of a group starts with `defaults: [base_<group>_<kind>]`, so a wrong type or an
unknown key fails at composition with a message naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from launchers.config import ModelConfig, ServerConfig
from launchers.kinds import server_kinds
from sweeper.client.config import LoadConfig
from sweeper.datasets import DATASET_KINDS, DatasetConfig

# conf/ sits beside the packages (design card layout); an absolute path works however we are run
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


@dataclass
class TrackingConfig:
    enabled: bool = True
    # MLflow tracking URI; SQLite under outputs/ by default
    uri: str = "sqlite:///outputs/mlflow.db"
    experiment: str = "sweeper"
    # where artifacts go for a local (file/sqlite) store; None = MLflow's default
    artifact_location: str | None = None
    log_artifacts: bool = True
    # seconds an MLflow call may take before the job gives up on tracking
    timeout_s: float = 10.0


@dataclass
class ReportConfig:
    # at the end of each multirun: PNGs + an HTML report in <sweep dir>/report, logged to the
    # sweep's MLflow run (python -m analysis report SWEEP makes one at any time)
    enabled: bool = True


@dataclass
class SloConfig:
    """Service-level objectives for goodput; None = no bound on that metric."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2el_ms: float | None = None


@dataclass
class RunSpec:
    # top-level sweepable keys; groups refer to them by interpolation
    concurrency: int | None = 1
    request_rate: float = float("inf")
    num_prompts: int = 100
    seed: int = 0
    # with -m, every grid point runs `repeats` times (repeat = 0..repeats-1, seeds seed+repeat)
    repeats: int = 1
    repeat: int = 0
    # derived in conf/config.yaml as seed + repeat; the groups use it (don't set it)
    run_seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    load: LoadConfig = field(default_factory=LoadConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    slo: SloConfig = field(default_factory=SloConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    percentiles: list[float] = field(default_factory=lambda: [50.0, 90.0, 99.0])
    # print the vLLM-style result block
    print_result: bool = True
    # skip grid points whose config hash has a FINISHED job run in the experiment (rerun the rest)
    resume: bool = False
    # a result key (e.g. request_goodput) a job returns as its value, for optimizing sweepers
    # (hydra/sweeper=optuna); None = the job returns its whole summary
    objective: str | None = None
    # GPUs per job: the server gets CUDA_VISIBLE_DEVICES from an allocation held across
    # processes (parallel launchers); 0 = leave CUDA_VISIBLE_DEVICES alone
    gpus_per_job: int = 0
    # the GPUs to allocate from; None = $CUDA_VISIBLE_DEVICES, else every GPU `nvidia-smi -L` lists
    gpu_ids: list[str] | None = None


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


def register() -> None:
    if not OmegaConf.has_resolver("add"):
        # ${add:${seed},${repeat}}: a distinct, recorded seed per repeat
        OmegaConf.register_new_resolver("add", lambda *xs: sum(int(x) for x in xs))
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=_schema(RunSpec))
    cs.store(group="model", name="base_model", node=_schema(ModelConfig))
    for name, kind in server_kinds().items():
        cs.store(group="server", name=f"base_server_{name}", node=_schema(kind.config))
    for kind, dataset_node in DATASET_KINDS.items():
        cs.store(group="dataset", name=f"base_dataset_{kind}", node=_schema(dataset_node))
    cs.store(group="load", name="base_load", node=_schema(LoadConfig))
    cs.store(group="tracking", name="base_tracking", node=_schema(TrackingConfig))
