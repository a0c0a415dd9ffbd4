"""Shared fixtures: a guard that every test leaves no child process behind."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psutil
import pytest


def live_descendants() -> list[psutil.Process]:
    """Our descendants, plus processes of sessions we started (servers run in their own)."""
    me = psutil.Process(os.getpid())
    found = []
    for p in me.children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Fail a test that leaves a child process running (servers included)."""
    before = {p.pid for p in live_descendants()}
    yield
    deadline = time.monotonic() + 5
    while True:
        left = [p for p in live_descendants() if p.pid not in before]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for p in left:
        p.kill()
    assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
