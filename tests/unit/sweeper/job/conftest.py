"""Fixtures of the job tests: a fake OpenAI server in a thread, a fake pool leasing it, a
`Runtime` around that pool, and a clean process environment for the sweep run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sweeper.runtime import Runtime
from tests.unit.sweeper.client.fake_openai import FakeOpenAI
from tests.unit.sweeper.job.fake_runtime import (
    FakePool,
    fake_openai_server,
    fake_runtime,
    forget_sweep_run_id,
)


@pytest.fixture(autouse=True)
def no_inherited_sweep_run(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_sweep_run_id(monkeypatch)


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


@pytest.fixture
def pool(fake_server: FakeOpenAI) -> FakePool:
    return FakePool(base_url=fake_server.base_url)


@pytest.fixture
def runtime(pool: FakePool) -> Runtime:
    return fake_runtime(pool)
