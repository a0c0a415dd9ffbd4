"""`server=command`: any server command (argv list) with a health path and a base URL.

`{host}`, `{port}`, `{model}` and `{model_path}` in argv elements and in `base_url` are replaced;
nothing goes through a shell.
"""

from __future__ import annotations

from pathlib import Path

from instruments.errors import ConfigError
from launchers.config import CommandServerConfig, ModelConfig
from launchers.kinds import LaunchPlan, substitute


def plan(model: ModelConfig, cfg: CommandServerConfig, port: int, workdir: Path) -> LaunchPlan:
    if not cfg.argv:
        raise ConfigError(
            "server.argv: empty; give the command as a list, e.g. [my-server, --port, '{port}']"
        )
    values = {
        "host": cfg.host,
        "port": str(port),
        "model": model.name,
        "model_path": model.path or model.name,
        "workdir": str(workdir),
    }
    return LaunchPlan(
        argv=[substitute(str(a), values) for a in cfg.argv],
        base_url=substitute(cfg.base_url, values),
        env={k: substitute(v, values) for k, v in cfg.env.items()},
        health_path=cfg.health_path,
    )
