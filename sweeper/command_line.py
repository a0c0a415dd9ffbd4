"""What a command line asks for, read before anything is imported: help, a plan, or a run (and
whether that run tracks). Standard library only: `python -m sweeper` reads it first, to start
the tracking helper (sweeper.tracking.sidecar) before Hydra is imported."""

from __future__ import annotations

from collections.abc import Sequence

HELP_FLAGS = ("--help", "-h")
MULTIRUN_FLAGS = ("-m", "--multirun")
PLAN_FLAGS = ("plan=true", "plan=True")
# `plan.k8s_dir=DIR` and the other `plan.*` options (sweeper.k8s) imply `plan=true`
PLAN_OPTION = "plan."
# Hydra's flags that print and exit
HYDRA_NO_RUN = ("--cfg", "-c", "--info", "-i", "--hydra-help", "--shell-completion", "-sc",
                "--version")  # fmt: skip
# the command line says the sweep tracks nothing (a config file may say so too: then the
# helper is sent away when the config is composed)
UNTRACKED = ("tracking=none", "tracking.enabled=false", "tracking.enabled=False")


def is_help(argv: Sequence[str]) -> bool:
    return any(a in HELP_FLAGS for a in argv)


def is_multirun(argv: Sequence[str]) -> bool:
    return any(a in MULTIRUN_FLAGS for a in argv)


def is_plan(argv: Sequence[str]) -> bool:
    return any(a in PLAN_FLAGS or a.startswith(PLAN_OPTION) for a in argv)


def tracked_run(argv: Sequence[str]) -> bool:
    """A run that will (as far as the command line says) record into MLflow."""
    if is_help(argv) or is_plan(argv):
        return False
    return not any(a in HYDRA_NO_RUN or a in UNTRACKED for a in argv)
