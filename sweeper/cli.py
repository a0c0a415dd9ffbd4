"""Entry point: `python -m sweeper [-m] key=value ...`.

Thin on purpose: compose (Hydra) → typed `RunSpec` → `run_job`. Around the Hydra app it makes sure
servers are stopped and the sweep run is closed on every way out (end, error, Ctrl-C, SIGTERM,
SIGHUP; a further signal cannot cut that short: `instruments.interrupts`), and the exit code says
whether every job finished: 0, 1 (a job failed), 2 (bad config), 130 / 143 / 129 (SIGINT /
SIGTERM / SIGHUP). `plan=true` (sweeper.plan) and `--help`
(sweeper.help) are answered before Hydra, without the server pool or MLflow.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from instruments import interrupts
from instruments.errors import ConfigError
from sweeper import compose_cache, hydra_job_files
from sweeper.command_line import is_help, is_plan, tracked_run
from sweeper.help import render_help
from sweeper.job.context import JobContext
from sweeper.plugin_check import explain_unknown_plugin, missing_plugin
from sweeper.schema import CONF_DIR, RunSpec, register

register()
# each job composed once, every compose without a copy of the ConfigStore (--help's too)
compose_cache.install()
# a job dir that cannot take Hydra's config copies fails that job, not the sweep
hydra_job_files.install()
# conf/hydra/launcher/{joblib,submitit_*}.yaml are typed by the plugins' schemas of the same name
# on purpose (they restate every field, so they work without the matching too)
warnings.filterwarnings("ignore", message=r"(?s).*validated against ConfigStore schema")


def job_context(cfg: DictConfig) -> JobContext:
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    # as typed: resolving would expand `${oc.env:SECRET}` in an override into the secret
    task = OmegaConf.to_container(hc.overrides.task, resolve=False)
    return JobContext(
        job_dir=Path(hc.runtime.output_dir).resolve(),
        sweep_dir=Path(hc.sweep.dir).resolve() if multirun else None,
        job_num=int(hc.job.num) if multirun else 0,
        overrides=[str(o) for o in task] if isinstance(task, list) else [],
        config=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _app(cfg: DictConfig) -> dict[str, Any] | float | None:
    from sweeper.runtime import process_runtime

    runtime = process_runtime()
    try:
        spec: RunSpec = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        ctx = job_context(cfg)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None)
        msg = str(e).strip().splitlines()[0]
        print(f"[sweeper] config error{f' at {key}' if key else ''}: {msg}", file=sys.stderr)
        runtime.sweep.job_finished(ok=False)
        return None
    from sweeper.job.run import run_job

    summary = run_job(spec, ctx, runtime)
    if spec.objective is None:
        return summary
    return objective_value(summary, spec.objective)


def objective_value(summary: dict[str, Any], key: str) -> float:
    """The optimized number of a job; NaN (a failed trial for Optuna) when the job failed."""
    status = summary.get("sweeper", {}).get("status")
    value = summary.get(key)
    if status != "FINISHED" or not isinstance(value, int | float):
        return float("nan")
    return float(value)


def one_line(e: BaseException) -> str:
    """A Hydra/OmegaConf composition error in one line: what, where, why (and the options)."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    msg = lines[0] if lines else type(e).__name__
    if isinstance(e, OverrideParseException):
        msg = f"bad override {e.override!r}: {msg}"
    cause = e.__cause__
    if isinstance(cause, OmegaConfBaseException) and str(cause).strip():
        msg = f"{msg.rstrip('.')}: {str(cause).strip().splitlines()[0]}"
    if any(line.startswith("Available options") for line in lines):
        start = next(i for i, line in enumerate(lines) if line.startswith("Available options"))
        options = []
        for line in lines[start + 1 :]:
            if line.startswith("Config search path"):
                break
            options.append(line)
        msg += f" (options: {', '.join(options)})"
    return msg


def help_main(argv: list[str]) -> int:
    try:
        print(render_help(argv))
    except (HydraException, OmegaConfBaseException) as e:
        print(f"[sweeper] config error: {one_line(e)}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"[sweeper] {e}", file=sys.stderr)
        return 2
    return 0


def answer_early(argv: list[str]) -> int | None:
    """`--help`, a plan, a launcher that is not installed: answered without a run (the plan,
    the server pool and MLflow are imported for what needs them, never for --help)."""
    if is_help(argv):
        return help_main(argv)
    if is_plan(argv):
        from sweeper.plan import main as plan_main

        return plan_main()
    if (missing := missing_plugin(argv)) is not None:
        from sweeper.tracking import sidecar

        sidecar.discard()  # (help and plans start none)
        print(f"[sweeper] {missing}", file=sys.stderr)
        return 2
    return None


def main() -> None:
    argv = sys.argv[1:]
    if (early := answer_early(argv)) is not None:
        gc.freeze()  # (see the end of main)
        sys.exit(early)
    from sweeper.runtime import process_runtime
    from sweeper.tracking import sidecar

    interrupts.install()
    runtime = process_runtime()
    if tracked_run(argv):  # (started already by `python -m sweeper`)
        sidecar.start()
    # Hydra then raises composition errors (bad key, type, option) to us instead of printing
    # them over several lines; we print one. A user who sets it gets the full trace.
    full_error = "HYDRA_FULL_ERROR" in os.environ
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    status: str | None = None
    code = 0
    try:
        _app()
    except (HydraException, OmegaConfBaseException) as e:
        if full_error:
            raise
        print(f"[sweeper] config error: {one_line(e)}", file=sys.stderr)
        status, code = "FAILED", 2
    except RuntimeError as e:  # a launcher/sweeper chosen in a config file, not installed
        if (missing := explain_unknown_plugin(e)) is None or full_error:
            raise
        print(f"[sweeper] {missing}", file=sys.stderr)
        status, code = "FAILED", 2
    except ValueError as e:  # Hydra's own command-line checks (e.g. -m together with --cfg)
        print(f"[sweeper] {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt as e:
        status = "KILLED"
        code = e.exit_code if isinstance(e, interrupts.Interrupted) else 130
        print(f"[sweeper] interrupted ({e or 'SIGINT'}): stopping servers", file=sys.stderr)
    finally:
        interrupts.defer()
        runtime.close(status)
        interrupts.ignore()
    if status == "KILLED":
        print("[sweeper] interrupted: servers stopped, finished jobs are kept", file=sys.stderr)
    if code == 0 and runtime.sweep.jobs_failed:
        code = 1
    # Python's exit ends with a collector pass over the whole heap (MLflow, SQLAlchemy, pandas,
    # Hydra: 0.8 s here); everything is written and closed by now, so what exists is frozen out
    # of that pass (the exit handlers still run: logging's flush, the servers' last check)
    gc.freeze()
    sys.exit(code)
