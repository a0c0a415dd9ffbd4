"""Compose each job's config once, not twice.

Hydra's sweepers check a batch before launching it (`Sweeper.validate_batch_is_legal`: a bad
point fails before the first server starts), which composes every job's config; the launcher
then composes each again (`ConfigLoaderImpl.load_sweep_config`). A compose is 0.1-0.3 s (most
of it OmegaConf copying), so a 5-point sweep spent a second of its start composing configs it
threw away. Installed, the loader keeps what the check composed and hands each config to the
next request for the same overrides, once: the launcher sets the job's number on the config it
gets, so a config is never handed out twice. The check and the launch see the same master
config and environment, so the reused config is the one the launcher would have composed.

Every compose, `--help`'s listing of groups included, also began by deep-copying Hydra's config
repository, and with it the whole ConfigStore: every registered schema (48 of ours), 40-80 ms
each time here. The copy guards the repository's list of sources, which the compose re-reads;
the store is only read, and what it hands out (`ConfigStore.load`) is a deep copy already. So
the store, a process-wide singleton, is shared by the copies instead of copied.

Before all that, Hydra composed the whole config once more only to read `hydra.mode` from it
(`Hydra.get_mode`), 0.15 s. With `-m`/`--multirun` on the command line the answer cannot
change what runs: a multirun it is, whatever the config says (Hydra's `_run_app` then adds
`hydra.mode=MULTIRUN` to the overrides, as it does for the usual `None`). So under `-m` the
mode is `None` without a compose; a run without `-m` still reads it.

Bounded: a grid of thousands of points keeps only the first `MAX_KEPT` (the rest are composed
again, as before). Not pickled with the loader (a cluster launcher ships the loader to its
workers, which compose their own job).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.hydra import Hydra
from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig

from sweeper.command_line import is_multirun

MAX_KEPT = 64
_KEPT = "_sweeper_composed"
_original = ConfigLoaderImpl.load_sweep_config
_original_get_mode = Hydra.get_mode
Key = tuple[int, tuple[str, ...]]


def _kept(loader: ConfigLoaderImpl) -> dict[Key, DictConfig]:
    kept = loader.__dict__.get(_KEPT)
    if kept is None:
        kept = loader.__dict__[_KEPT] = {}
    return kept


def _validate_batch_is_legal(self: Sweeper, batch: Sequence[Sequence[str]]) -> None:
    """Hydra's check (every job of the batch composes), keeping the first MAX_KEPT configs."""
    context = getattr(self, "hydra_context", None)
    # (Hydra's check takes the loader from a sweeper's context, or its own from before it)
    loader = context.config_loader if context is not None else vars(self)["config_loader"]
    master = getattr(self, "config", None)
    assert master is not None
    kept = _kept(loader) if isinstance(loader, ConfigLoaderImpl) else None
    for overrides in batch:
        config = loader.load_sweep_config(master_config=master, sweep_overrides=list(overrides))
        if kept is not None and len(kept) < MAX_KEPT:
            kept[(id(master), tuple(overrides))] = config


def _load_sweep_config(
    self: ConfigLoaderImpl, master_config: DictConfig, sweep_overrides: list[str]
) -> DictConfig:
    """A config the check kept for these overrides (handed out once), else a new compose."""
    kept = self.__dict__.get(_KEPT)
    if kept and (config := kept.pop((id(master_config), tuple(sweep_overrides)), None)) is not None:
        return config
    return _original(self, master_config, sweep_overrides)


def _get_mode(self: Hydra, config_name: str | None, overrides: list[str]) -> Any:
    """`hydra.mode` as Hydra's `get_mode` reads it, but no compose under `-m` (see above)."""
    if is_multirun(sys.argv[1:]):
        return None
    return _original_get_mode(self, config_name, overrides)


def _getstate(self: ConfigLoaderImpl) -> dict[str, Any]:
    return {k: v for k, v in self.__dict__.items() if k != _KEPT}


def _same_store(self: ConfigStore, memo: dict[int, Any]) -> ConfigStore:
    return self


def install() -> None:
    """Make this process's Hydra sweepers keep the configs they checked, its composes share the
    ConfigStore, and a multirun skip the compose that only reads the mode (idempotent)."""
    ConfigStore.__deepcopy__ = _same_store  # type: ignore[attr-defined]
    Sweeper.validate_batch_is_legal = _validate_batch_is_legal  # type: ignore[method-assign]
    ConfigLoaderImpl.load_sweep_config = _load_sweep_config  # type: ignore[method-assign]
    Hydra.get_mode = _get_mode  # type: ignore[method-assign]
    if "__getstate__" not in ConfigLoaderImpl.__dict__:
        ConfigLoaderImpl.__getstate__ = _getstate  # type: ignore[method-assign,assignment]
