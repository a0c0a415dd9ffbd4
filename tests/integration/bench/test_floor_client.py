"""The bench's floor client reads every response of the fake server whole, stamps each request's
first event at or after the server wrote it, and fails a run it cannot read with one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sweeper.bench.client_cost import truth_of
from sweeper.bench.procs import background, free_port
from tests.helpers.processes import run_captured


def _floor(url: str, out: Path, requests: int) -> tuple[int, str]:
    argv = [sys.executable, "-m", "sweeper.bench.floor_client", "--url", url,
            "--requests", str(requests), "--concurrency", "4", "--output-len", "16",
            "--prefix", "t-", "--out", str(out)]  # fmt: skip
    done = run_captured(argv, timeout=60)
    return done.returncode, done.stderr


def test_every_response_read_and_first_event_stamped_after_its_write(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = [sys.executable, "-m", "sweeper.bench.fake_server", "--port", str(port),
              "--itl-ms", "1"]  # fmt: skip
    with background(server, url + "/health", tmp_path / "server.log"):
        truth_of(url)
        code, err = _floor(url, tmp_path / "floor.json", 20)
        truth = truth_of(url)
    assert code == 0, err
    stamps = json.loads((tmp_path / "floor.json").read_text())["stamps"]
    assert sorted(stamps) == sorted(f"t-{i}" for i in range(20)) == sorted(truth.requests)
    for request_id, (sent, first) in stamps.items():
        read_ns, first_write_ns, last_write_ns, tokens = truth.requests[request_id]
        assert tokens == 16 and sent <= read_ns
        # the kernel stamps the bytes inside the server's send(), after its clock read
        assert first_write_ns <= first <= last_write_ns


def test_no_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, err = _floor(url, tmp_path / "floor.json", 3)
    assert code == 1
    assert err.strip().splitlines() == [f"floor client: {url}: {err.split(': ', 2)[2].strip()}"]
    assert "Connect call failed" in err
    assert not (tmp_path / "floor.json").exists()
