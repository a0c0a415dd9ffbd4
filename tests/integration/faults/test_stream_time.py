"""Time faults of an external OpenAI-compatible server: SSE heartbeats, a stall, slow headers,
a server that dies mid-run (closed loop, duration run), HTTP 500 on every second request. Each
request is bounded by load.request_timeout_s (whole request) or load.idle_timeout_s (silence);
a gone server stops the load; every record of a request sent is kept."""

from __future__ import annotations

import pytest

from tests.helpers.bad_sse_server import Case, Outcome, run_cases
from tests.integration.faults.conftest import RecordRow

# generous: proves "no hang", not a timing
NO_HANG_S = 180

CASES = {
    # every second stream sends `: keepalive` every 0.5 s forever; 5 s bounds each
    "heartbeat": Case(("--modes", "good,heartbeat"),
                      ("num_prompts=16", "concurrency=4", "load.request_timeout_s=5")),
    # every fourth stream goes silent with the connection open: idle_timeout_s ends it
    "stall": Case(("--modes", "good,good,good,stall"),
                  ("num_prompts=40", "concurrency=4", "load.idle_timeout_s=3")),
    "slow_headers": Case(("--modes", "good,good,good,slow_headers", "--delay-s", "600"),
                         ("num_prompts=40", "concurrency=4", "load.request_timeout_s=4")),
    "dies": Case(("--crash-after", "10", "--modes", "good"), ("num_prompts=400", "concurrency=4")),
    "dies_duration": Case(("--crash-after", "10", "--modes", "good"),
                          ("load.duration_s=120", "concurrency=4")),
    "http_500": Case(("--modes", "good,http_500"), ("num_prompts=40", "concurrency=4")),
}  # fmt: skip


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return run_cases(CASES, tmp_path_factory.mktemp("stream_time"))


def show(name: str, out: Outcome) -> str:
    sw = out.sweeper
    line = (
        f"{name}: exit {out.returncode}, job {sw['status']} {sw.get('error', '')[:120]!r}, "
        f"{out.wall_s:.1f} s, {len(out.records)} records, completed {out.result['completed']}, "
        f"errors {out.errors_by_reason()}"
    )
    print(line)
    return line


def test_heartbeats_cannot_keep_a_request_alive(ran: dict[str, Outcome]) -> None:
    out = ran["heartbeat"]
    show("heartbeat", out)
    assert out.returncode == 0, out.output[-3000:]
    assert out.sweeper["status"] == "FINISHED"
    assert len(out.records) == 16
    assert out.errors_by_reason() == {"timeout": 8}
    assert out.wall_s < NO_HANG_S


@pytest.mark.parametrize(("name", "reason"), [("stall", "idle_timeout"),
                                              ("slow_headers", "timeout")])  # fmt: skip
def test_silence_is_bounded_per_request(
    name: str, reason: str, ran: dict[str, Outcome], fault_row: RecordRow
) -> None:
    out = ran[name]
    line = show(name, out)
    if name == "stall":
        fault_row("stall", line)
    assert out.returncode == 0, out.output[-3000:]
    assert out.sweeper["status"] == "FINISHED"
    assert len(out.records) == 40
    assert out.errors_by_reason() == {reason: 10}
    assert out.wall_s < NO_HANG_S


@pytest.mark.parametrize("name", ["dies", "dies_duration"])
def test_a_dead_server_stops_the_load(
    name: str, ran: dict[str, Outcome], fault_row: RecordRow
) -> None:
    out = ran[name]
    line = show(name, out)
    if name == "dies":
        fault_row("crash", line)
    records = out.records
    errors = out.errors_by_reason()
    # the 10 answered are kept; then the in-flight ones and one run of refused connections
    assert int(records["success"].sum()) == 10
    # one run of 20 failures stops the load; up to 3 more (concurrency 4) were already under way
    assert errors.get("connect_error", 0) <= 20 + 3
    assert len(records) <= 10 + 4 + 20 + 4, "no request fired into the dead port after the stop"
    assert (records["t_post_ns"] > 0).all(), "records only of requests sent"
    assert "Traceback" not in out.output
    # a duration run does not hit the dead port for its 120 s
    assert out.wall_s < 90


def test_http_500_on_every_second_request(ran: dict[str, Outcome], fault_row: RecordRow) -> None:
    out = ran["http_500"]
    fault_row("http_errors", show("http_500", out))
    assert out.returncode == 0
    assert len(out.records) == 40
    assert out.errors_by_reason() == {"http_500": 20}
    failed = out.records.query("~success")
    assert all("injected 500" in e for e in failed["error"])
