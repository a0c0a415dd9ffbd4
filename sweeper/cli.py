"""Entry point: `python -m sweeper [-m] key=value ...`.

Thin on purpose: compose (Hydra) → typed `RunSpec` → `run_job`. Around the Hydra app it makes sure
servers are stopped and the sweep run is closed on every way out (end, error, Ctrl-C, SIGTERM), and
the exit code says whether every job finished.
"""

from __future__ import annotations

import signal
import sys
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from launchers.pool import default_pool
from sweeper import sweep
from sweeper.context import JobContext
from sweeper.schema import RunSpec, register

register()
# conf/hydra/launcher/{joblib,submitit_*}.yaml are typed by the plugins' schemas of the same name
# on purpose (they restate every field, so they work without the matching too)
warnings.filterwarnings("ignore", message=r"(?s).*validated against ConfigStore schema")

# conf/ sits beside the packages (design card layout); an absolute path works however we are run
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def job_context(cfg: DictConfig) -> JobContext:
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    return JobContext(
        job_dir=Path(hc.runtime.output_dir).resolve(),
        sweep_dir=Path(hc.sweep.dir).resolve() if multirun else None,
        job_num=int(hc.job.num) if multirun else 0,
        overrides=list(hc.overrides.task),
        config=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _app(cfg: DictConfig) -> dict[str, Any] | None:
    try:
        spec: RunSpec = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        ctx = job_context(cfg)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None)
        msg = str(e).strip().splitlines()[0]
        print(f"[sweeper] config error{f' at {key}' if key else ''}: {msg}", file=sys.stderr)
        sweep.current().job_finished(ok=False)
        return None
    from sweeper.job import run_job

    return run_job(spec, ctx)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop servers, mark the sweep KILLED, exit."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def main() -> None:
    if "plan=true" in sys.argv[1:]:
        from sweeper.plan import main as plan_main

        sys.exit(plan_main())
    signal.signal(signal.SIGTERM, _on_sigterm)
    status: str | None = None
    code = 0
    try:
        _app()
    except KeyboardInterrupt as e:
        status = "KILLED"
        code = 143 if isinstance(e, Terminated) else 130
        print("[sweeper] interrupted: servers stopped, finished jobs are kept", file=sys.stderr)
    finally:
        default_pool().close()
        sweep.current().close(status)
    if code == 0 and sweep.current().jobs_failed:
        code = 1
    sys.exit(code)
