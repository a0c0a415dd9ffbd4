"""Benchmarks print figures and take minutes: they run only when asked for (`-m benchmark`)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "benchmark" in (config.getoption("-m") or ""):
        return
    keep = [item for item in items if item.get_closest_marker("benchmark") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
