"""A job's config is composed once: the configs Hydra's batch check composes go to the launcher,
each once, and are never pickled with the loader."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import initialize_config_dir
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, RunMode
from omegaconf import open_dict

from sweeper import compose_cache


@pytest.fixture
def loader_and_master(tmp_path: Path) -> Any:
    (tmp_path / "config.yaml").write_text("concurrency: 1\nrate: 2\n")
    compose_cache.install()
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", overrides=[], run_mode=RunMode.MULTIRUN)
        yield loader, master


class Checker(Sweeper):
    """A sweeper that only checks (Hydra's own check, which every sweeper inherits)."""

    def __init__(self, loader: Any, master: Any) -> None:
        self.hydra_context = HydraContext(config_loader=loader, callbacks=None)  # type: ignore[arg-type]
        self.config = master

    def setup(self, **kwargs: Any) -> None: ...

    def sweep(self, arguments: list[str]) -> Any: ...


def checked(loader: Any, master: Any, batch: list[list[str]]) -> None:
    Checker(loader, master).validate_batch_is_legal(batch)


def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    original = compose_cache._original

    def compose(self: Any, master: Any, overrides: list[str]) -> Any:
        calls.append(tuple(overrides))
        return original(self, master, overrides)

    monkeypatch.setattr(compose_cache, "_original", compose)
    return calls


def test_checked_configs_go_to_the_launcher_once(
    loader_and_master: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader, master = loader_and_master
    calls = counting(monkeypatch)
    batch = [[f"concurrency={c}"] for c in (1, 8, 32)]
    checked(loader, master, batch)
    assert calls == [tuple(b) for b in batch]
    got = [loader.load_sweep_config(master, list(b)) for b in batch]
    assert calls == [tuple(b) for b in batch]  # no compose at launch
    assert [g.concurrency for g in got] == [1, 8, 32]
    # the launcher changes its config; the same overrides later get a new compose
    with open_dict(got[0]):
        got[0].hydra.job.num = 7
    again = loader.load_sweep_config(master, ["concurrency=1"])
    assert again is not got[0] and again.concurrency == 1
    assert calls[-1] == ("concurrency=1",) and len(calls) == 4


def test_kept_configs_are_bounded_and_not_pickled(
    loader_and_master: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader, master = loader_and_master
    monkeypatch.setattr(compose_cache, "MAX_KEPT", 2)
    checked(loader, master, [[f"rate={r}"] for r in range(5)])
    assert len(loader.__dict__[compose_cache._KEPT]) == 2
    shipped = pickle.loads(pickle.dumps(loader))
    assert compose_cache._KEPT not in shipped.__dict__
    calls = counting(monkeypatch)
    assert shipped.load_sweep_config(master, ["rate=0"]).rate == 0
    assert calls == [("rate=0",)]


@pytest.mark.parametrize("flag", ["-m", "--multirun"])
def test_a_multirun_does_not_compose_to_read_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    # the config says RUN: without the flag Hydra's own answer comes back (composed); with it,
    # None, which Hydra's `_run_app` turns into a multirun, as it does for a config saying RUN
    (tmp_path / "config.yaml").write_text("concurrency: 1\nhydra:\n  mode: RUN\n")
    compose_cache.install()
    composes: list[list[str]] = []
    original = Hydra.compose_config

    def compose(self: Hydra, config_name: str | None, overrides: list[str], **kw: Any) -> Any:
        composes.append(list(overrides))
        return original(self, config_name, overrides, **kw)

    monkeypatch.setattr(Hydra, "compose_config", compose)
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        monkeypatch.setattr(sys, "argv", ["sweeper", "concurrency=2"])
        assert hydra.get_mode("config", ["concurrency=2"]) == RunMode.RUN
        assert composes == [["concurrency=2"]]
        monkeypatch.setattr(sys, "argv", ["sweeper", flag, "concurrency=2,3"])
        assert hydra.get_mode("config", ["concurrency=2,3"]) is None
        assert composes == [["concurrency=2"]]
