"""instruments.interrupts in a child process of its own (it installs signal handlers)."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.processes import run_captured

PRELUDE = """
import os, signal, sys, threading, time
from instruments import interrupts
interrupts.install()
def soon(sig, after=0.1):
    threading.Timer(after, os.kill, (os.getpid(), sig)).start()
"""

CASES = {
    # the first signal raises, with 128 + its number as the exit code
    "raises": """
soon(signal.SIGHUP)
try:
    time.sleep(5)
except interrupts.Interrupted as e:
    print("caught", e, e.exit_code)
""",
    # dropped inside a __del__ ("Exception ignored in"), then delivered again
    "dropped": """
class Slow:
    def __del__(self):
        time.sleep(0.4)
soon(signal.SIGTERM)
try:
    s = Slow(); del s
    time.sleep(5)
    print("lost")
except interrupts.Interrupted as e:
    print("caught", e, e.exit_code)
""",
    # a signal inside held() is raised when the block ends, not in its middle
    "held": """
soon(signal.SIGINT)
try:
    with interrupts.held():
        time.sleep(0.4)
        print("block finished")
    print("not raised")
except interrupts.Interrupted as e:
    print("caught", e, e.exit_code)
""",
    # after defer() further signals are noted, not raised: the teardown runs to its end
    "deferred": """
interrupts.defer()
soon(signal.SIGINT); soon(signal.SIGTERM, 0.2)
time.sleep(0.6)
print("teardown finished")
""",
}
EXPECTED = {
    "raises": "caught SIGHUP 129",
    "dropped": "caught SIGTERM 143",
    "held": "block finished\ncaught SIGINT 130",
    "deferred": "teardown finished",
}


@pytest.mark.parametrize("case", list(CASES))
def test_signals_end_the_process_once_and_cannot_cut_the_teardown(case: str) -> None:
    done = run_captured([sys.executable, "-c", PRELUDE + CASES[case]], timeout=30)
    assert done.stdout.strip() == EXPECTED[case], done.stderr[-2000:]
    if case == "deferred":
        assert done.stderr.count("still stopping servers") == 2


def test_a_signal_ignored_at_start_stays_ignored() -> None:
    code = (
        "import signal\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        + PRELUDE
        + """
os.kill(os.getpid(), signal.SIGHUP); time.sleep(0.2); print("still here")
"""
    )
    done = run_captured([sys.executable, "-c", code], timeout=30)
    assert done.stdout.strip() == "still here", done.stderr[-2000:]
