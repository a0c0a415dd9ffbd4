"""`hydra/launcher=ray` options (ConfigStore; conf/hydra/launcher/ray.yaml restates them).

No `from __future__ import annotations` here: Hydra's plugin scan executes the modules of
hydra_plugins/ without registering them first, and dataclasses then cannot resolve string
annotations.
"""

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore


@dataclass
class RayLauncherConf:
    _target_: str = "hydra_plugins.sweeper_launchers.ray_launcher.RayLauncher"
    # a running cluster: `HOST:6379` (`ray start --head`), `ray://HOST:10001` (Ray Client, e.g.
    # a KubeRay RayCluster's head service), `auto` (the cluster of this node); null starts a
    # local Ray for the sweep and stops it after
    address: str | None = None
    # resources one job (one Ray task) reserves; num_gpus follows gpus_per_job
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    # extra environment of the jobs (runtime_env env_vars); SWEEPER_SWEEP_RUN_ID is always added
    env_vars: dict[str, str] = field(default_factory=dict)
    # a local Ray (address null): its object store, small since jobs return summaries only
    object_store_memory: int = 100_000_000


ConfigStore.instance().store(
    group="hydra/launcher", name="ray", node=RayLauncherConf, provider="sweeper"
)
