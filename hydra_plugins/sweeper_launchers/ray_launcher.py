"""`hydra/launcher=ray`: each job one Ray task on a Ray cluster, on Ray's public API
(`ray.init`, `ray.remote`, `ray.wait`, `ray.get`); `ray` itself is imported only when a sweep
launches (the `[ray]` extra).

A task reserves `num_cpus` and `num_gpus` (Ray sets its CUDA_VISIBLE_DEVICES; sweeper's GPU
allocation then takes those), runs the job as any launcher's worker does (its own server pool,
closed when the task ends; `max_calls=1`: one job per worker process, no retries) and returns
its JobReturn. A task that fails or whose worker dies (a lost node, a killed process) becomes a
FAILED job of the sweep (`_lost`), never an exception out of the sweep.

hydra-ray-launcher 1.2.2 is not used: it pins cloudpickle<3 (MLflow's environment has 3.x),
pulls ray[default] and boto3, and its `ray.get` of all jobs at once turns one lost job into a
lost sweep.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from hydra_plugins.sweeper_launchers._lost import lost_job

log = logging.getLogger(__name__)


def run_task(
    hydra_context: HydraContext,
    config: DictConfig,
    overrides: Sequence[str],
    job_num: int,
    singleton_state: dict[Any, Any],
    task_function: TaskFunction,
) -> JobReturn:
    """One job inside a Ray worker (as hydra-submitit-launcher's `__call__` runs one)."""
    import ray

    from sweeper.runtime import process_runtime

    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        job = sweep_config.hydra.job
        job.id = ray.get_runtime_context().get_task_id() or f"job_id_for_{job_num}"
        job.num = job_num
    HydraConfig.instance().set_config(sweep_config)
    try:
        return run_job(
            hydra_context=hydra_context,
            task_function=task_function,
            config=sweep_config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
    finally:
        process_runtime().pool.close()  # the job's servers end with its task


class RayLauncher(Launcher):
    def __init__(
        self,
        address: str | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        env_vars: dict[str, str] | None = None,
        object_store_memory: int = 100_000_000,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.env_vars = dict(env_vars or {})
        self.object_store_memory = object_store_memory
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        import ray

        assert self.config is not None and self.hydra_context is not None
        setup_globals()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        started_here = self._connect(ray)
        try:
            return self._run_all(ray, job_overrides, initial_job_idx)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """ray.init for this sweep; True when this call started Ray (and so ends it)."""
        if ray.is_initialized():
            return False
        # here, not at the top: Hydra's plugin discovery imports this module for every command
        from sweeper.tracking.sweep_run import RUN_ID_ENV

        env = {**self.env_vars}
        if os.environ.get(RUN_ID_ENV):
            env[RUN_ID_ENV] = os.environ[RUN_ID_ENV]
        kwargs: dict[str, Any] = {
            "address": self.address,
            "runtime_env": {"env_vars": env},
            "log_to_driver": True,
        }
        if self.address is None:
            kwargs.update(object_store_memory=self.object_store_memory, include_dashboard=False)
        log.info("Ray launcher: connecting to %s", self.address or "a local Ray")
        ray.init(**kwargs)
        return True

    def _run_all(
        self, ray: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        assert self.config is not None and self.hydra_context is not None
        remote = ray.remote(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_calls=1, max_retries=0
        )(run_task)
        task_fn = self.task_function
        refs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            refs.append(
                remote.remote(
                    self.hydra_context, self.config, list(overrides), idx,
                    Singleton.get_state(), task_fn,
                )
            )  # fmt: skip
        returns = []
        for idx, (ref, overrides) in enumerate(zip(refs, job_overrides, strict=True)):
            num = initial_job_idx + idx
            try:
                returns.append(ray.get(ref))
            except ray.exceptions.RayError as e:
                reason = f"Ray task of job {num} failed: {type(e).__name__}: {first_line(e)}"
                returns.append(lost_job(self.hydra_context, self.config, overrides, num, reason))
            except BaseException:  # Ctrl-C of the sweep: its tasks do not run on
                for pending in refs:
                    ray.cancel(pending, force=True)
                raise
        return returns


def first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [""])[0][:500]
