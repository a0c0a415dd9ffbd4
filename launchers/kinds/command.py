"""`server=command`: any server command (argv list) with a health path and a base URL.

`{host}`, `{port}`, `{model}`, `{model_path}` and `{workdir}` in argv elements, in `base_url` and
in `env` values are replaced; nothing goes through a shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instruments.errors import ConfigError
from instruments.options import option
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind


@dataclass
class CommandServerConfig(ServerConfig):
    """Any server command. `{port}`, `{host}` and `{model}` / `{model_path}` are substituted in
    each argv element (whole-string format fields only; no shell is involved)."""

    kind: str = option("command", "the server kind")
    argv: list[str] = option(
        default_factory=list,
        help="the server command as a list; {host} {port} {model} {model_path} {workdir} replaced",
    )
    base_url: str = option("http://{host}:{port}", "base URL template; {host} and {port} replaced")


@SERVER_KINDS.register("command")
class CommandKind(ServerKind[CommandServerConfig]):
    name = "command"
    config = CommandServerConfig

    def check(self, model: ModelConfig, server: CommandServerConfig) -> None:
        super().check(model, server)
        if not server.argv:
            raise ConfigError(
                "server.argv: empty; give the command as a list, e.g. [my-server, --port, '{port}']"
            )

    def plan(
        self, model: ModelConfig, server: CommandServerConfig, port: int, workdir: Path
    ) -> LaunchPlan:
        values = {
            "host": server.host,
            "port": str(port),
            "model": model.name,
            "model_path": model.path or model.name,
            "workdir": str(workdir),
        }
        return LaunchPlan(
            argv=[substitute(str(a), values) for a in server.argv],
            base_url=substitute(server.base_url, values),
            env={k: substitute(v, values) for k, v in server.env.items()},
            health_path=server.health_path,
        )


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace `{key}` placeholders (only the given keys; other braces, e.g. JSON, stay)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
