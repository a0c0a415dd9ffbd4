"""Broken event streams from an external OpenAI-compatible server (40 requests, concurrency 4,
every fifth or tenth stream spoiled): each costs its own request only, with a reason; the job
goes on, keeps every record and ends in seconds."""

from __future__ import annotations

import pytest

from instruments.errors import ConfigError
from sweeper.client.config import LoadConfig
from tests.helpers.bad_sse_server import WRONG_SHAPES, Case, Outcome, run_cases
from tests.integration.faults.conftest import RecordRow

LOAD = ("num_prompts=40", "concurrency=4")
# a generous bound that still proves "no hang" (each of these takes seconds)
NO_HANG_S = 150


def every(n: int, fault: str) -> tuple[str, ...]:
    return ("--modes", ",".join(["good"] * (n - 1) + [fault]))


CASES = {
    # (server flags, sweep overrides, the reason each spoiled request must carry, spoiled count)
    "wrong_shape": (every(5, "wrong_shape"), LOAD, "bad_event", 8),
    "huge_line": (every(10, "huge_line"), LOAD, "event_too_large", 4),
    "broken_chunk": (every(5, "broken_chunk"), LOAD, "incomplete_response", 8),
    "html_502": (every(5, "html_502"), LOAD, "http_502", 8),
    "html_200": (every(5, "html_200"), LOAD, "bad_event", 8),
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("stream_events")
    return run_cases({k: Case(args, load) for k, (args, load, _, _) in CASES.items()}, root)


def row(name: str, out: Outcome) -> str:
    sw = out.sweeper
    return (
        f"{name}: exit {out.returncode}, job {sw['status']}, {out.wall_s:.1f} s, "
        f"{len(out.records)} records, completed {out.result['completed']}, "
        f"errors {out.errors_by_reason()}"
    )


@pytest.mark.parametrize("name", list(CASES))
def test_a_spoiled_stream_fails_that_request_only(
    name: str, ran: dict[str, Outcome], fault_row: RecordRow
) -> None:
    out = ran[name]
    _, _, reason, spoiled = CASES[name]
    print(row(name, out))
    if name in ("wrong_shape", "html_200"):
        fault_row("bad_stream", row(name, out))
    assert out.returncode == 0, out.output[-3000:]
    assert out.sweeper["status"] == "FINISHED"
    records = out.records
    assert len(records) == 40, "every record is kept"
    assert out.errors_by_reason() == {reason: spoiled}
    failed = records[~records["success"]]
    assert all(e.startswith(reason + ":") for e in failed["error"])
    assert out.wall_s < NO_HANG_S


def test_each_wrong_shape_is_named_in_its_record(ran: dict[str, Outcome]) -> None:
    errors = list(ran["wrong_shape"].records.query("~success")["error"])
    # each shape came once (the server's request n got WRONG_SHAPES[n % 8]); the record quotes
    # the event it could not read, or names the field of the wrong type
    quoted = {shape for shape in WRONG_SHAPES for e in errors if repr(shape) in e}
    typed = [e for e in errors if e == "bad_event: a text field is not a string"]
    assert len(quoted) == len(WRONG_SHAPES) - 1 and len(typed) == 1, errors


def test_the_huge_line_is_not_read_to_its_end(ran: dict[str, Outcome]) -> None:
    out = ran["huge_line"]
    failed = out.records.query("~success")
    # the first token came before the huge line and stays in the record
    assert (failed["output_len"] == 1).all()
    assert all("load.max_event_bytes=8388608" in e for e in failed["error"])


def test_the_event_limit_is_a_checked_key() -> None:
    """load.max_event_bytes is checked like any key: a bad value is one line naming it."""
    with pytest.raises(ConfigError, match=r"load.max_event_bytes: must be >= 1024, got 10"):
        LoadConfig(max_event_bytes=10).validate()
