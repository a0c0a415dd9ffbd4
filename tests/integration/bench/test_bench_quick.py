"""`python -m sweeper.bench --quick` runs end to end (so the bench cannot rot): every figure the
README quotes is in its JSON, a finite number, and its table prints each beside its target; the
README's table has a row for each figure and no other. No figure's size is asserted: on a shared
CI machine they are noise."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

from sweeper.bench.clients import vllm_available
from tests.helpers.processes import REPO, run_captured

# figures of sweeper itself (always there) and those measured beside `vllm bench serve`
OURS = [
    "a_cpu_us_per_token", "a_cpu_us_per_token_to_exit", "a_ttft_err_p50_ms", "a_ttft_err_p99_ms",
    "b_cpu_us_per_token", "b_cpu_us_per_token_to_exit", "b_ttft_err_p50_ms", "b_ttft_err_p99_ms",
    "idle_core_pct", "help_s", "cfg_job_s", "plan_s", "orchestration_s_per_job",
    "orchestration_steady_s_per_job",
    "sync_job_dirs_s", "load_report_s", "fidelity_c1_ttft_p99_ms", "fidelity_c64_ttft_p99_ms",
    "fidelity_c256_ttft_p99_ms", "rate_50_error_pct", "rate_200_error_pct",
    "sim_lateness_p99_ms", "a_floor_cpu_us_per_token", "b_floor_cpu_us_per_token",
    "idle_floor_core_pct", "a_core_pct", "a_server_core_pct",
]  # fmt: skip
BESIDE_VLLM = [
    "a_cpu_vs_vllm", "a_vllm_cpu_us_per_token", "a_vllm_cpu_us_per_token_to_exit",
    "a_vllm_ttft_err_p99_ms", "b_vllm_cpu_us_per_token", "b_vllm_cpu_us_per_token_to_exit",
    "b_vllm_ttft_err_p99_ms", "idle_vllm_core_pct", "crosscheck_ttft_gap_ms",
    "crosscheck_throughput_ratio",
]  # fmt: skip


def test_quick_bench_writes_every_figure_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = run_captured([sys.executable, "-m", "sweeper.bench", "--quick", "--json", str(out)],
                        timeout=900, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())
    figures = data["figures"]
    # the day's speed, for comparing runs of two days
    assert 0 < data["context"]["python_loop_ms"] < 10_000, data["context"]
    assert "fixed Python loop" in done.stdout
    expected = OURS + (BESIDE_VLLM if vllm_available() else [])
    for key in expected:
        assert key in figures, key
        assert math.isfinite(figures[key]["value"]), (key, figures[key])
        assert figures[key]["verdict"] in ("met", "missed", "—")
        assert figures[key]["label"] in done.stdout, key
    assert done.stdout.startswith("sweeper bench (quick;")
    # the README's rows are the full bench's: sizes differ from the quick run's, names do not
    printed = {sized(f["label"]) for f in figures.values()}
    in_readme = readme_table_labels()
    assert len(in_readme) == len(set(in_readme)), in_readme
    rows = {sized(label) for label in in_readme}
    assert printed <= rows, printed - rows
    if vllm_available():  # then the bench measures every row
        assert rows == printed, rows - printed
    targets = [f for f in figures.values() if f["target"] is not None]
    assert targets and all(f["verdict"] in ("met", "missed") for f in targets)


def sized(label: str) -> str:
    """A figure's label with its sizes (counts, concurrency) left out."""
    return re.sub(r"[0-9]+", "#", label.strip())


def readme_table_labels() -> list[str]:
    """The first column of the README's bench table (`| figure (`python -m sweeper.bench`) |`)."""
    lines = (REPO / "README.md").read_text().splitlines()
    head = "| figure (`python -m sweeper.bench`)"
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    labels = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        labels.append(line[1:].split(" | ")[0].strip().replace("\\|", "|"))
    return labels
