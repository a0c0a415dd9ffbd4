"""A progress bar that never runs in the event loop: a thread polls the runner's counter (an
int the sender bumps once per request) twice a second; nothing at all with load.progress=false."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


class Progress:
    """`tqdm` on stderr, refreshed from a background thread every `interval_s`."""

    def __init__(
        self, total: int | None, read_done: Callable[[], int], enabled: bool, desc: str = "requests"
    ) -> None:
        self._total = total
        self._read_done = read_done
        self._enabled = enabled and sys.stderr is not None
        self._desc = desc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # requests the bar has counted so far
        self.shown = 0

    def __enter__(self) -> Progress:
        if self._enabled:
            self._thread = threading.Thread(target=self._run, name="sweeper-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, interval_s: float = 0.5) -> None:
        from tqdm import tqdm  # only where a bar is shown (its import is most of its cost)

        bar = tqdm(total=self._total, desc=self._desc, unit="req", file=sys.stderr, leave=False)
        try:
            while True:
                stopping = self._stop.wait(interval_s)
                done = self._read_done()
                if done > self.shown:
                    bar.update(done - self.shown)
                    self.shown = done
                if stopping:
                    break
        finally:
            bar.close()
