"""Entry point: `python -m sweeper [-m] key=value ...`."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from sweeper.schema import RunSpec, register

register()

# conf/ sits beside the packages (design card layout); an absolute path works however we are run
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _app(cfg: DictConfig) -> dict | None:
    spec: RunSpec = OmegaConf.to_object(cfg)
    from sweeper.job import run_job

    return run_job(spec)


def main() -> None:
    _app()
