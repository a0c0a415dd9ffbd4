from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sweeper.telemetry.watch import ServerWatch

METRICS = b"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 3.0\n"


@pytest.fixture
def metrics_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(METRICS)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_watch_returns_the_scraped_series(metrics_url: str) -> None:
    watch = ServerWatch(metrics_url, 0.05)
    watch.start()
    threading.Event().wait(0.3)
    frame = watch.stop()
    assert frame is not None and set(frame.columns) >= {"t_ns", "name", "labels", "value"}
    running = frame[frame["name"] == "vllm:num_requests_running"]
    assert len(running) >= 2 and (running["value"] == 3.0).all()


def test_interval_zero_samples_nothing(metrics_url: str) -> None:
    watch = ServerWatch(metrics_url, 0)
    watch.start()
    assert watch.stop() is None
