"""A process killed while writing a job file never leaves a half-written file in its place."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from tests.helpers.processes import REPO, Spawned
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import wait_for

# rewrite result.json through sweeper's writer, stopping halfway (flag file) until killed
WRITER = """
import sys, time
from pathlib import Path
from sweeper.job import jobdir

def half_then_hang(tmp: Path) -> None:
    with tmp.open("w") as f:
        f.write('{"completed": 999, "duration"')
        f.flush()
        Path(sys.argv[2]).touch()
        time.sleep(120)

jobdir.atomic_write(Path(sys.argv[1]), half_then_hang)
"""


def test_job_killed_mid_write_leaves_previous_complete_file(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    result = tmp_path / "job" / "result.json"
    result.parent.mkdir()
    before = {"completed": 8, "sweeper": {"status": "FINISHED"}}
    result.write_text(json.dumps(before))
    flag = tmp_path / "halfway"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with Spawned([sys.executable, "-c", WRITER, str(result), str(flag)], env=env) as writer:
        proc = writer.proc
        wait_for(lambda: flag.exists() or proc.poll() is not None, 30, "the writer to be halfway")
        assert proc.poll() is None, "the writer died before it was halfway"
        proc.send_signal(signal.SIGKILL)
    after = json.loads(result.read_text())
    temps = sorted(p.name for p in result.parent.iterdir() if p.name != "result.json")
    fault_row(
        "atomic",
        f"writer SIGKILLed halfway: result.json still the previous complete JSON "
        f"({after == before}); the half-written bytes are in temp file(s) {temps}",
    )
    assert after == before
    assert len(temps) == 1 and temps[0].startswith(".result.json.")
