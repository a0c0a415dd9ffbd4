"""`server=sim`: the built-in simulator, `python -m launchers.sim`."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

from launchers.config import ModelConfig, ServerConfig, SimServerConfig
from launchers.kinds import LaunchPlan, option_args

# fields of SimServerConfig that are not simulator options
_NOT_OPTIONS = {f.name for f in fields(ServerConfig)} | {"profile", "args"}


def plan(model: ModelConfig, cfg: SimServerConfig, port: int, workdir: Path) -> LaunchPlan:
    argv = [
        sys.executable, "-m", "launchers.sim",
        "--host", cfg.host,
        "--port", str(port),
        "--served-model-name", model.name,
        "--profile", cfg.profile,
        "--ground-truth-out", str(workdir / f"sim-ground-truth-{port}.jsonl"),
    ]  # fmt: skip
    if model.tokenizer:
        argv += ["--tokenizer", model.tokenizer]
    if model.max_model_len is not None and cfg.max_model_len is None:
        argv += option_args("max_model_len", model.max_model_len)
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.name not in _NOT_OPTIONS and value is not None:
            argv += option_args(f.name, value)
    for name, value in cfg.args.items():
        argv += option_args(name, value)
    return LaunchPlan(
        argv=argv,
        base_url=f"http://{cfg.host}:{port}",
        env=dict(cfg.env),
        health_path=cfg.health_path,
        served_model=model.name,
        simulated=True,
    )
