"""An `mlflow server` on 127.0.0.1 for a test: own process group, always torn down."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from launchers.process import free_port
from tests.helpers.processes import stop_group


@contextmanager
def mlflow_server(root: Path, timeout_s: float = 180) -> Iterator[str]:
    """Yields the server's URI; stops the whole process group on the way out."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    log = (root / "mlflow-server.log").open("wb")
    proc = subprocess.Popen(
        [
            "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{root}/server.db",
            "--artifacts-destination", str(root / "artifacts"),
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start; see {root}/mlflow-server.log")
            time.sleep(0.5)
        yield uri
    finally:
        stop_group(proc)
        log.close()
