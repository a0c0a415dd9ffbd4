"""An `mlflow server` on 127.0.0.1 for a test: own process group, always torn down."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from launchers.process import free_port
from tests.helpers.processes import Spawned


@contextmanager
def mlflow_server(root: Path, timeout_s: float = 180) -> Iterator[str]:
    """Yields the server's URI; stops the whole process group on the way out."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    argv = [
        "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root}/server.db",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    with Spawned(argv, log=root / "mlflow-server.log") as server:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start; see {server.log}")
            time.sleep(0.5)
        yield uri
