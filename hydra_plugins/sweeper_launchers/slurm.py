"""Registers `_slurm.SweeperSlurmLauncher` with Hydra's plugin scan when hydra-submitit-launcher
is installed (the `[scale]` extra); without it the scan stays quiet and `sweeper.plugin_check`
names the extra."""

from importlib.util import find_spec

if find_spec("hydra_plugins.hydra_submitit_launcher") is not None:
    from hydra_plugins.sweeper_launchers._slurm import SweeperSlurmLauncher

    __all__ = ["SweeperSlurmLauncher"]
