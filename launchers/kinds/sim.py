"""`server=sim`: the built-in simulator, `python -m launchers.sim`."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from instruments.errors import ConfigError
from launchers.config import ModelConfig, ServerConfig, SimServerConfig
from launchers.kinds import LaunchPlan, option_args

# fields of SimServerConfig that are not simulator options
_NOT_OPTIONS = {f.name for f in fields(ServerConfig)} | {"profile", "args", "speculative_config"}


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
    argv += speculative_args(cfg.speculative_config)
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


def speculative_args(spec: dict[str, Any] | None) -> list[str]:
    """vLLM's speculative_config as simulator options (method and model are not simulated)."""
    if not spec:
        return []
    try:
        argv = option_args("num_speculative_tokens", int(spec["num_speculative_tokens"]))
        if "acceptance_rate" in spec:
            argv += option_args("spec_acceptance_rate", float(spec["acceptance_rate"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(
            f"server.speculative_config: needs an integer num_speculative_tokens "
            f"(and optionally acceptance_rate in [0, 1]): {e}"
        ) from None
    return argv
