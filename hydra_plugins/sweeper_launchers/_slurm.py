"""`hydra/launcher=submitit_slurm`: hydra-submitit-launcher's SLURM launcher, plus what a sweep
on a shared cluster needs (`slurm.py` registers it only when hydra-submitit-launcher is there):

- a job that ends without a result (scancel, preemption, a lost node, SIGKILL past KillWait) is
  a FAILED job of the sweep (`_lost`), not an exception that ends the sweep and loses the other
  jobs' returns;
- job states come from `scontrol show job` (as long as SLURM keeps them, MinJobAge), not only
  from `sacct`: clusters without accounting never say a cancelled job is over otherwise;
- inside the job, SIGTERM (what `scancel` and preemption send first) ends the job as sweeper's
  Ctrl-C does (recorded KILLED, servers stopped) instead of submitit's default of ignoring it;
- each job's SLURM stdout/stderr is copied into its job dir (`slurm.out`, `slurm.err`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf

from hydra_plugins.sweeper_launchers._lost import job_config, job_dir_of, lost_job
from instruments import interrupts

log = logging.getLogger(__name__)

# states after which a job runs no more (squeue/scontrol spelling)
ENDED = {
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "TIMEOUT", "GONE",
}  # fmt: skip
POLL_S = 2.0
# a job that ended may write its result a moment later on a shared filesystem
RESULT_GRACE_S = 15.0


def slurm_state(job_id: str) -> str:
    """The job's state; GONE when SLURM forgot it (ended longer than MinJobAge ago)."""
    try:
        out = subprocess.run(
            ["scontrol", "-o", "show", "job", job_id],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "UNKNOWN"
    if out.returncode != 0:
        return "GONE" if "Invalid job id" in out.stderr else "UNKNOWN"
    match = re.search(r"\bJobState=(\S+)", out.stdout)
    return match.group(1) if match else "UNKNOWN"


class SweeperSlurmLauncher(SlurmLauncher):
    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        # in the SLURM job: SIGTERM/SIGINT/SIGHUP end the job as they end a local sweep
        interrupts.install()
        return super().__call__(*args, **kwargs)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        assert self.config is not None and self.hydra_context is not None
        executor = self._executor()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info(f"Submitit 'slurm' sweep output dir : {sweep_dir}")
        job_params: list[Any] = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            job_params.append(
                (
                    list(overrides),
                    "hydra.sweep.dir",
                    idx,
                    f"job_id_for_{idx}",
                    Singleton.get_state(),
                )
            )
        jobs = executor.map_array(self, *zip(*job_params, strict=True))
        try:
            states = wait_ended(jobs)
        except BaseException:  # Ctrl-C of the sweep: its SLURM jobs do not run on
            for job in jobs:
                job.cancel(check=False)
            raise
        returns = []
        for idx, (job, overrides) in enumerate(zip(jobs, job_overrides, strict=True)):
            returns.append(self._job_return(job, overrides, initial_job_idx + idx, states))
        return returns

    def _executor(self) -> Any:
        """The submitit executor, configured as hydra-submitit-launcher configures it."""
        import submitit

        init_params: dict[str, Any] = {"folder": self.params["submitit_folder"]}
        if "max_num_timeout" in self.params:
            init_params["slurm_max_num_timeout"] = self.params["max_num_timeout"]
        executor = submitit.AutoExecutor(cluster="slurm", **init_params)
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                k if k in base else f"slurm_{k}": v
                for k, v in self.params.items()
                if k not in {"submitit_folder", "max_num_timeout"}
            }
        )
        return executor

    def _job_return(
        self, job: Any, overrides: Sequence[str], job_num: int, states: dict[str, str]
    ) -> JobReturn:
        assert self.config is not None and self.hydra_context is not None
        cfg = job_config(self.hydra_context, self.config, overrides, job_num)
        gather_logs(job, job_dir_of(cfg))
        state = states.get(job.job_id, "UNKNOWN")
        if job.paths.result_pickle.exists():
            try:
                result: JobReturn = job.results()[0]
                return result
            except Exception as e:  # the job raised outside sweeper's own job handling
                reason = f"SLURM job {job.job_id} ({state}) raised: {type(e).__name__}: {e}"
        else:
            reason = (
                f"SLURM job {job.job_id} ended {state} without a result "
                "(cancelled, preempted, out of time or memory, or its node was lost)"
            )
        return lost_job(self.hydra_context, self.config, overrides, job_num, reason)


def wait_ended(jobs: Sequence[Any]) -> dict[str, str]:
    """Wait until every job has a result file or has ended in SLURM; their final states."""
    states: dict[str, str] = {}
    ended_at: dict[str, float] = {}
    pending = list(jobs)
    while pending:
        still = []
        for job in pending:
            if job.paths.result_pickle.exists():
                states.setdefault(job.job_id, "COMPLETED")
                continue
            state = slurm_state(job.job_id)
            if state.split()[0] in ENDED:
                states[job.job_id] = state
                first = ended_at.setdefault(job.job_id, time.monotonic())
                if time.monotonic() - first > RESULT_GRACE_S:
                    log.warning("SLURM job %s ended %s without a result", job.job_id, state)
                    continue
            still.append(job)
        pending = still
        if pending:
            time.sleep(POLL_S)
    return states


def gather_logs(job: Any, job_dir: Path) -> None:
    """SLURM's stdout/stderr of the job, next to its result (best effort)."""
    for src, name in ((job.paths.stdout, "slurm.out"), (job.paths.stderr, "slurm.err")):
        try:
            if Path(src).is_file():
                job_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, job_dir / name)
        except OSError as e:
            log.warning("cannot copy %s into %s: %s", src, job_dir, os.strerror(e.errno or 0))
