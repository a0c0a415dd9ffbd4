"""The fault-injection suite's table (printed at the end) and its process guards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.faults.report import EXPECTED, Row, observed_table

ROWS = pytest.StashKey[dict[str, list[Row]]]()

RecordRow = Callable[[str, str], None]


def _rows(config: pytest.Config) -> dict[str, list[Row]]:
    if ROWS not in config.stash:
        config.stash[ROWS] = {}
    return config.stash[ROWS]


@pytest.fixture
def fault_row(request: pytest.FixtureRequest) -> RecordRow:
    """Record what this test observed for a row of the table (pass/fail is the test's)."""

    def record(key: str, observed: str) -> None:
        assert key in EXPECTED, key
        _rows(request.config).setdefault(request.node.nodeid, []).append(Row(key, observed))

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call" or report.failed:
        for row in _rows(item.config).get(item.nodeid, []):
            row.passed = report.passed if row.passed is not False else False
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = [r for rs in _rows(terminalreporter.config).values() for r in rs]
    if not rows:
        return
    terminalreporter.write_sep("=", "fault → observed outcome")
    terminalreporter.write_line(observed_table(rows))


def processes_mentioning(marker: str) -> list[psutil.Process]:
    """Live processes whose command line mentions `marker` (servers get temp paths in argv)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if marker in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except psutil.Error:
            continue
    return found


def wait_gone(marker: str, timeout_s: float = 5.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(autouse=True)
def no_orphan_servers(tmp_path: Path) -> Iterator[None]:
    """Servers run in their own sessions: an orphan is not our descendant, so look by argv."""
    yield
    left = wait_gone(str(tmp_path))
    for p in left:
        p.kill()
    assert not left, f"orphan processes: {[(p.pid, p.info['cmdline']) for p in left]}"


@pytest.fixture(scope="session", autouse=True)
def suite_leaves_nothing(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[None]:
    yield
    base = str(tmp_path_factory.getbasetemp())
    left = [*wait_gone(base), *wait_gone("tests.helpers.bad_sse_server", 1.0)]
    names = sorted({" ".join(p.info["cmdline"] or [])[:80] for p in left})
    observed = f"{len(left)} process(es) left" + (f": {names}" if names else "")
    row = Row("leftovers", observed, passed=not left)
    _rows(request.config).setdefault("<session>", []).append(row)
    for p in left:
        p.kill()
    assert not left, observed
