"""A job that a remote engine lost (cancelled, preempted, node gone, worker killed) before it
recorded itself: written down like a local job that failed, so it is a FAILED job run and a
failed count in the sweep, not a lost sweep.

A job that was stopped by a signal it could handle (SIGTERM from `scancel`) records itself
as KILLED; then its result.json is there and only its summary is handed back.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sweeper.job.jobdir import RESULT

log = logging.getLogger(__name__)


def job_config(
    hydra_context: HydraContext, config: DictConfig, overrides: Sequence[str], job_num: int
) -> DictConfig:
    """The job's composed config (hydra node included), as the remote process builds it."""
    cfg = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(cfg):
        cfg.hydra.job.num = job_num
    return cfg


def job_dir_of(cfg: DictConfig) -> Path:
    return Path(str(cfg.hydra.sweep.dir)).resolve() / str(cfg.hydra.sweep.subdir)


def read_result(job_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((job_dir / RESULT).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def completed(overrides: Sequence[str], job_dir: Path, summary: Any) -> JobReturn:
    """A job's return as the sweeper expects it: COMPLETED with the job's summary, also for
    a failed job (a failing job never raises into the sweeper, locally or remotely)."""
    return JobReturn(
        overrides=list(overrides),
        working_dir=str(job_dir),
        status=JobStatus.COMPLETED,
        _return_value=summary,
    )


def lost_job(
    hydra_context: HydraContext,
    config: DictConfig,
    overrides: Sequence[str],
    job_num: int,
    reason: str,
) -> JobReturn:
    """The JobReturn of a job that produced no return; records it FAILED unless it recorded
    itself (its result.json, e.g. KILLED after SIGTERM)."""
    cfg = job_config(hydra_context, config, overrides, job_num)
    job_dir = job_dir_of(cfg)
    summary = read_result(job_dir)
    if summary is None:
        summary = record_failed(cfg, job_dir, overrides, job_num, reason)
    return completed(overrides, job_dir, summary)


def record_failed(
    cfg: DictConfig, job_dir: Path, overrides: Sequence[str], job_num: int, reason: str
) -> dict[str, Any]:
    """result.json and a FAILED MLflow child run for the job, as `sweeper.job.run` writes them."""
    # imported here, not at the top: Hydra's plugin discovery imports this module for every
    # command, `--help` included, and these bring in MLflow and the server pool
    from sweeper.job.context import JobContext, learn_secrets
    from sweeper.job.outcome import Outcome
    from sweeper.job.run import finish
    from sweeper.runtime import process_runtime
    from sweeper.schema import RunSpec

    log.warning("job %d lost: %s", job_num, reason)
    previous = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(cfg)  # ${hydra:...} in the job's config resolves to it
    try:
        task_cfg = copy.deepcopy(cfg)
        with read_write(task_cfg), open_dict(task_cfg):
            del task_cfg["hydra"]  # as hydra.core.utils.run_job hands it to the task
        learn_secrets(task_cfg)
        spec = OmegaConf.to_object(task_cfg)
        assert isinstance(spec, RunSpec)
        job_dir.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(
            job_dir=job_dir,
            sweep_dir=Path(str(cfg.hydra.sweep.dir)).resolve(),
            job_num=job_num,
            overrides=list(overrides),
            config=OmegaConf.to_container(task_cfg, resolve=True),  # type: ignore[arg-type]
        )
    finally:
        if previous is not None:
            HydraConfig.instance().set_config(previous)  # type: ignore[arg-type]
    outcome = Outcome(status="FAILED", error=reason)
    sweep = process_runtime().sweep
    finish(spec, ctx, outcome, sweep.run_id, sweep)
    return outcome.summary
