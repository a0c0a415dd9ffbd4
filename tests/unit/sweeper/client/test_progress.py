from __future__ import annotations

import threading
import time

from sweeper.client.progress import Progress


def test_progress_thread_follows_the_counter_and_stops(capsys) -> None:  # type: ignore[no-untyped-def]
    done = [0]
    with Progress(10, lambda: done[0], enabled=True, desc="reqs") as progress:
        for _ in range(10):
            done[0] += 1
            time.sleep(0.06)
        names = [t.name for t in threading.enumerate()]
        assert "sweeper-progress" in names
    assert "sweeper-progress" not in [t.name for t in threading.enumerate()]
    err = capsys.readouterr().err
    assert "reqs" in err and "/10" in err and progress.shown == 10


def test_disabled_progress_starts_no_thread() -> None:
    with Progress(5, lambda: 0, enabled=False):
        assert "sweeper-progress" not in [t.name for t in threading.enumerate()]
