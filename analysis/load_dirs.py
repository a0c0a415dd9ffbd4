"""Read a sweep from its job dirs (`<sweep_dir>/<job_num>/result.json` + `.hydra/config.yaml`).

This is the path when tracking was off or MLflow was unreachable; it yields the same runs
DataFrame as `analysis.load_mlflow` (see `analysis.frame`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf

from analysis.errors import AnalysisError
from analysis.frame import (
    JobRow,
    as_bool,
    build_frame,
    normalize_status,
    overrides_text,
    result_metrics,
)
from sweeper.job.context import params as config_params

RESULT_FILE = "result.json"
CONFIG_FILE = ".hydra/config.yaml"
OVERRIDES_FILE = ".hydra/overrides.yaml"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def sweep_name_for_dir(sweep_dir: Path) -> str:
    """`outputs/sweeps/2026-11-21/06-10-54` → `sweep-2026-11-21_06-10-54` (the MLflow run name)."""
    return f"sweep-{sweep_dir.parent.name}_{sweep_dir.name}"


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job dirs of a sweep: numeric subdirs, in job order."""
    if not sweep_dir.is_dir():
        raise AnalysisError(f"sweep dir {sweep_dir} does not exist")
    found = [p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(found, key=lambda p: int(p.name))


def is_sweep_dir(path: Path) -> bool:
    return path.is_dir() and any(
        (p / RESULT_FILE).is_file() or (p / CONFIG_FILE).is_file() for p in job_dirs(path)
    )


def read_result(job_dir: Path) -> dict[str, Any] | None:
    path = job_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise AnalysisError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise AnalysisError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def register_resolvers() -> None:
    """sweeper's own resolvers (`${add:...}`), as the CLI registers them before composing."""
    from sweeper.schema import register

    if not OmegaConf.has_resolver("add"):
        register()


def resolved_container(cfg: DictConfig) -> dict[str, Any]:
    """Hydra's saved config with interpolations resolved; a value whose interpolation needs
    Hydra's runtime (`${hydra:...}`, `${now:...}`) keeps its raw text."""
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except Exception:
        container = resolve_leaves(cfg, OmegaConf.to_container(cfg, resolve=False), "")
    if not isinstance(container, dict):
        raise TypeError("top level is not a mapping")
    # the stubs allow any DictConfig key type; a composed config's top-level keys are strings
    return cast(dict[str, Any], container)


def resolve_leaves(cfg: DictConfig, raw: Any, prefix: str) -> Any:
    if isinstance(raw, dict):
        return {k: resolve_leaves(cfg, v, f"{prefix}{k}.") for k, v in raw.items()}
    if isinstance(raw, str) and "${" in raw:
        value = OmegaConf.select(cfg, prefix[:-1], throw_on_resolution_failure=False)
        if value is None:
            return raw
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return raw


def read_config_params(job_dir: Path) -> dict[str, str]:
    """The composed config as the job logs it as MLflow params (`sweeper.job.context.params`)."""
    path = job_dir / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        text = path.read_text()
        data = yaml.load(text, Loader=YAML_LOADER)
        if not isinstance(data, dict):
            raise TypeError("top level is not a mapping")
        # OmegaConf only where interpolations need resolving (it is 10x slower than libyaml)
        if "${" in text:
            register_resolvers()
            container = resolved_container(OmegaConf.create(data))
        else:
            container = data
    except Exception as exc:
        raise AnalysisError(f"{path}: unreadable config ({exc})") from exc
    return config_params(container)


def read_overrides(job_dir: Path) -> str:
    path = job_dir / OVERRIDES_FILE
    if not path.is_file():
        return ""
    loaded = OmegaConf.to_container(OmegaConf.load(path))
    return overrides_text(loaded)


def job_row(sweep_dir: Path, job_dir: Path) -> JobRow:
    result = read_result(job_dir)
    extras: dict[str, Any] = {}
    if result is not None and isinstance(result.get("sweeper"), dict):
        extras = result["sweeper"]
    overrides = overrides_text(extras.get("overrides")) or read_overrides(job_dir)
    if result is None:
        status, error = "FAILED", f"{job_dir / RESULT_FILE} missing (job did not finish)"
    else:
        status = normalize_status(extras.get("status", "FINISHED"))
        error = str(extras.get("error") or extras.get("skipped_reason") or "")
    return JobRow(
        sweep_name=sweep_name_for_dir(sweep_dir),
        sweep_dir=str(sweep_dir),
        sweep_run_id=None,
        run_id=None,
        job_num=int(extras.get("job_num", job_dir.name)),
        job_dir=str(job_dir),
        status=status,
        error=error,
        overrides=overrides,
        server_fingerprint=str(extras.get("server_fingerprint") or ""),
        config_hash=str(extras.get("config_hash") or ""),
        server_reused=as_bool(extras.get("server_reused", False)),
        simulated=as_bool(extras.get("simulated", False)),
        params=read_config_params(job_dir),
        metrics=result_metrics(result) if result is not None else {},
    )


def load_sweep_dir(sweep_dir: Path) -> pd.DataFrame:
    """All jobs of one sweep dir as the runs DataFrame."""
    sweep_dir = sweep_dir.resolve()
    dirs = job_dirs(sweep_dir)
    if not dirs:
        raise AnalysisError(f"sweep dir {sweep_dir} holds no job dirs (<job_num>/result.json)")
    return build_frame([job_row(sweep_dir, d) for d in dirs])


def find_sweep_dirs(root: Path) -> list[Path]:
    """Every sweep dir under `root` (e.g. outputs/sweeps): dirs whose numeric subdirs are jobs."""
    if not root.is_dir():
        raise AnalysisError(f"{root} is not a directory")
    found = {p.parent.parent for p in root.glob("**/*/" + RESULT_FILE)}
    found |= {p.parent.parent.parent for p in root.glob("**/*/" + CONFIG_FILE)}
    return sorted(p for p in found if p.is_dir() and is_sweep_dir(p))
