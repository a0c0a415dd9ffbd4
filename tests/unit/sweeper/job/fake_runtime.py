"""What a job needs around it, without a server process: a composed spec, a job context, a pool
that hands out leases on an in-process fake OpenAI server, and a `Runtime` holding that pool.

Shared by the job and tracking tests (their conftests turn these into fixtures)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from launchers.config import ModelConfig, ServerConfig
from launchers.gpus import GpuHolder
from launchers.pool import Lease
from sweeper.job.context import JobContext
from sweeper.runtime import Runtime
from sweeper.schema import CONF_DIR, RunSpec, register
from sweeper.tracking.sweep_run import RUN_ID_ENV, SweepRun
from tests.unit.sweeper.client.fake_openai import FakeBehaviour, FakeOpenAI

# resolvers Hydra registers process-wide when it composes (hydra.core.utils.setup_globals)
HYDRA_RESOLVERS = ("now", "hydra", "python_version")


def compose_job(overrides: list[str]) -> tuple[RunSpec, dict[str, Any]]:
    """The typed spec and the resolved plain config of `python -m sweeper OVERRIDES`. Hydra's
    resolvers are unregistered again, so that later tests see OmegaConf as they found it (the
    analysis keeps an unresolvable `${now:...}` of a saved config as text)."""
    register()
    before = {name for name in HYDRA_RESOLVERS if OmegaConf.has_resolver(name)}
    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
        spec: RunSpec = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        config = OmegaConf.to_container(cfg, resolve=True)
    finally:
        for name in set(HYDRA_RESOLVERS) - before:
            OmegaConf.clear_resolver(name)
    assert isinstance(config, dict)
    return spec, {str(k): v for k, v in config.items()}


def forget_sweep_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep run opened by a test exports its id for child processes; unset it now and after
    the test (setenv first, so that monkeypatch restores "unset", not whatever the test left)."""
    monkeypatch.setenv(RUN_ID_ENV, "")
    monkeypatch.delenv(RUN_ID_ENV)


def job_context(
    config: dict[str, Any], job_dir: Path, sweep_dir: Path | None = None, job_num: int = 0
) -> JobContext:
    """Where the job runs, as the CLI builds it from Hydra; its override is the grid coordinate
    a sweep over `concurrency` would give it."""
    overrides = [f"concurrency={config['concurrency']}"]
    return JobContext(
        job_dir=job_dir, sweep_dir=sweep_dir, job_num=job_num, overrides=overrides, config=config
    )


@dataclass
class FakePool:
    """The pool's three calls; `acquire` fails with `fail` when set, `alive` is what
    `server_alive` answers."""

    base_url: str = "http://127.0.0.1:9"
    pid: int | None = None
    alive: bool = True
    fail: BaseException | None = None
    # the server log the lease points at, and where this job's part of it starts
    log_path: Path | None = None
    log_offset: int = 0
    # (model name, log dir) of every `acquire`
    acquired: list[tuple[str, Path]] = field(default_factory=list)

    def acquire(
        self, model: ModelConfig, server: ServerConfig, log_dir: Path,
        while_starting: Callable[[], None] | None = None,
    ) -> Lease:  # fmt: skip
        self.acquired.append((model.name, log_dir))
        if self.fail is not None:
            raise self.fail
        if while_starting is not None:  # a new server every time
            while_starting()
        return Lease(
            base_url=self.base_url,
            fingerprint="fp-fake",
            reused=False,
            pid=self.pid,
            log_path=self.log_path,
            log_offset=self.log_offset,
        )

    def server_alive(self) -> bool:
        return self.alive

    def close(self) -> None:
        """Nothing to stop: the fake server belongs to the test."""


def fake_runtime(pool: FakePool) -> Runtime:
    return Runtime(pool=pool, sweep=SweepRun(), gpus=GpuHolder())


@contextmanager
def fake_openai_server(behaviour: FakeBehaviour | None = None) -> Iterator[FakeOpenAI]:
    """A FakeOpenAI served from its own thread's event loop (the job runs its own loop)."""
    server = FakeOpenAI(behaviour)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
