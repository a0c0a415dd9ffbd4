"""Broken response streams from a real server process (server=command): malformed SSE, JSON cut
off mid-event, no usage; and config values with shell metacharacters reaching argv verbatim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from tests.helpers.cli import Sweep
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import read_result


def test_malformed_streams_recorded_per_request_no_crash(
    tmp_path: Path, fault_row: RecordRow
) -> None:
    # every shell would act on this; an argv list must pass it on as one literal element
    payload = (
        f"x; touch {tmp_path}/pwned1 && echo $(touch {tmp_path}/pwned2) | cat > {tmp_path}/pwned3 "
        '"q" * `id` ~ #c'
    )
    argv = [sys.executable, "-m", "tests.helpers.bad_sse_server", "{port}"]
    argv += ["--argv-out", "{workdir}/argv.json", "--model", "{model}"]
    proc = Sweep(tmp_path).run(
        "server=command",
        "server.argv=[" + ",".join(f"'{a}'" for a in argv) + "]",
        f"model.name='{payload}'",
        "num_prompts=8", "concurrency=1", "dataset.output_len=4", "tracking=none",
        "load.progress=false", "server.metrics_interval_s=0",
    )  # fmt: skip
    run = tmp_path / "run"
    result = read_result(run)
    records = pd.read_parquet(run / "requests.parquet").sort_values("index")
    # request i got mode i % 4: good, malformed, truncated, no_usage
    mode = ["good", "malformed", "truncated", "no_usage"]
    by_mode = {m: records[records["index"] % 4 == i] for i, m in enumerate(mode)}
    errors = {m: sorted(set(df["error"])) for m, df in by_mode.items()}
    fault_row(
        "bad_stream",
        f"job {result['sweeper'].get('status')}, completed {result['completed']}, failed "
        f"{result['failed']} {result['sweeper'].get('errors_by_reason')}; malformed → "
        f"{errors['malformed'][0][:60]!r}, truncated → {errors['truncated'][0][:60]!r}; "
        f"no usage → success, output_len {list(by_mode['no_usage']['output_len'])}, "
        f"itl_per_token {result['sweeper'].get('itl_per_token')}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result["sweeper"]["status"] == "FINISHED"
    assert result["completed"] == 4 and result["failed"] == 4
    assert by_mode["good"]["success"].all() and by_mode["good"]["exact_chunk_tokens"].all()
    for m in ("malformed", "truncated"):
        assert not by_mode[m]["success"].any()
        assert all(e.startswith("bad_event:") for e in errors[m]), errors[m]
    no_usage = by_mode["no_usage"]
    assert no_usage["success"].all() and (no_usage["output_len"] == 4).all()
    assert not no_usage["exact_chunk_tokens"].any(), "token counts without usage are flagged"
    assert result["sweeper"]["itl_per_token"] is False

    (server_dir,) = (run / "servers").iterdir()
    seen_argv = json.loads((server_dir / "argv.json").read_text())
    made = sorted(p.name for p in tmp_path.glob("pwned*"))
    fault_row("metachar", f"server argv {seen_argv[-2:]}; files a shell would have made: {made}")
    assert seen_argv[-2:] == ["--model", payload]
    assert not made
