"""Bad inputs fail in one line, naming the key or file, before any server starts.

All runs start at once (module fixture) so the suite pays the CLI's start-up cost in parallel.
"""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import Sweep
from tests.helpers.processes import Spawned
from tests.integration.faults.conftest import RecordRow
from tests.integration.faults.live import cli_env


@dataclass
class Case:
    row: str
    overrides: tuple[str, ...]
    code: int
    # every string must appear in the one error line
    says: tuple[str, ...]


def cases(data: Path) -> dict[str, Case]:
    return {
        "unknown_key": Case("unknown_key", ("nosuchkey=1",), 2, ("nosuchkey", "not in 'RunSpec'")),
        "unknown_key_added": Case(
            "unknown_key", ("+load.nosuch=1",), 1, ("load.nosuch: unknown key",)
        ),
        "wrong_type": Case("wrong_type", ("concurrency=abc",), 2, ("concurrency=abc", "Integer")),
        "negative": Case("negative", ("concurrency=-4",), 1, ("concurrency: must be >= 1",)),
        "empty_dataset": Case(
            "empty_dataset",
            ("dataset=sharegpt", f"dataset.path={data / 'empty.json'}"),
            1,
            ("empty.json",),
        ),
        "corrupt_dataset": Case(
            "corrupt_dataset",
            ("dataset=sharegpt", f"dataset.path={data / 'corrupt.json'}"),
            1,
            ("corrupt.json:3:", "invalid JSON"),
        ),
        "no_tokenizer": Case(
            "no_tokenizer",
            (f"model.tokenizer={data / 'no-such-tokenizer'}",),
            1,
            ("model.tokenizer", "no-such-tokenizer"),
        ),
        "unknown_slo": Case("unknown_slo", ("slo.foo=1",), 2, ("slo.foo", "SloConfig")),
        "unknown_slo_added": Case("unknown_slo", ("+slo.foo=1",), 1, ("slo.foo: unknown key",)),
    }


@dataclass
class Ran:
    case: Case
    root: Path
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    data = tmp_path_factory.mktemp("bad-data")
    (data / "empty.json").write_text("")
    (data / "corrupt.json").write_text(
        '[\n  {"conversations": [{"from": "human", "value": "hi"},\n  {"from": "gpt", "value": '
    )
    started = {}
    out = {}
    with ExitStack() as reap_all:
        for name, case in cases(data).items():
            root = tmp_path_factory.mktemp(name)
            args = Sweep(root).args(*case.overrides, "tracking=none", "server.profile=fast")
            child = Spawned(args, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            started[name] = (case, root, reap_all.enter_context(child))
        for name, (case, root, child) in started.items():
            stdout, stderr = child.proc.communicate(timeout=120)
            out[name] = Ran(case, root, child.proc.returncode, stdout, stderr)
    return out


def message_lines(text: str) -> list[str]:
    """stderr without Hydra's timestamped log records."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("[20")]


@pytest.mark.parametrize("name", list(cases(Path("/data"))))
def test_bad_input_is_one_line_before_any_server(
    name: str, ran: dict[str, Ran], fault_row: RecordRow
) -> None:
    r = ran[name]
    lines = message_lines(r.stderr)
    where = "at composition" if r.code == 2 else "in the job, before the server"
    said = " | ".join(line[:150] for line in lines)
    fault_row(r.case.row, f"`{' '.join(r.case.overrides)}` → exit {r.code} {where}: {said}")
    assert r.code == r.case.code, r.stderr[-2000:]
    assert len(lines) == 1, lines
    assert lines[0].startswith("[sweeper] ")
    for needle in r.case.says:
        assert needle in lines[0]
    assert "Traceback" not in r.stdout + r.stderr
    assert not (r.root / "run" / "servers").exists(), "a server was started"
    assert "Serving Benchmark Result" not in r.stdout
