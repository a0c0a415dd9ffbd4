"""Same sweep, real vLLM on CPU vs the simulator: the curves should have the same shape.

Runs `python -m sweeper` twice with model=tiny-random and max_num_seqs=8: first real vLLM, then
the simulator with its cost model fitted to vLLM's concurrency-1 and -8 figures (step overhead,
per-sequence and per-prefill-token cost). Prints both curves. Needs the vLLM environment
(scripts/setup-vllm-cpu.sh, or SWEEPER_VLLM_PYTHON); run with
`python -m pytest -m "benchmark and vllm" tests/benchmarks/test_sim_vs_vllm.py -s`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import Sweep

pytestmark = [pytest.mark.benchmark, pytest.mark.vllm]

REPO = Path(__file__).resolve().parents[2]
CONCURRENCY = (1, 2, 4, 8, 16, 32)
MAX_NUM_SEQS = 8
INPUT_LEN, OUTPUT_LEN, PROMPTS = 128, 32, 48


def sweep(tmp_path: Path, name: str, *overrides: str) -> list[dict]:
    run = Sweep(tmp_path / name)
    proc = run.run(
        "-m", f"concurrency={','.join(map(str, CONCURRENCY))}", "model=tiny-random",
        f"num_prompts={PROMPTS}", f"dataset.input_len={INPUT_LEN}",
        f"dataset.output_len={OUTPUT_LEN}", f"server.max_num_seqs={MAX_NUM_SEQS}",
        "tracking=none", *overrides, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = run.results()
    assert [r["completed"] for r in results] == [PROMPTS] * len(CONCURRENCY)
    return results


def table(label: str, results: list[dict]) -> None:
    print(f"[sim vs vllm] {label}")
    print("[sim vs vllm] concurrency  out tok/s  median TTFT ms  median TPOT ms")
    for c, r in zip(CONCURRENCY, results, strict=True):
        print(
            f"[sim vs vllm] {c:>11}  {r['output_throughput']:>9.1f}  {r['median_ttft_ms']:>14.1f}"
            f"  {r['median_tpot_ms']:>14.2f}"
        )


def shape(results: list[dict]) -> tuple[list[float], list[float]]:
    return [r["output_throughput"] for r in results], [r["median_ttft_ms"] for r in results]


def test_sim_curve_has_the_shape_of_vllm_on_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = os.environ.get("SWEEPER_VLLM_PYTHON") or str(REPO / ".venv-vllm" / "bin" / "python")
    if not Path(exe).is_file():
        pytest.fail(f"no vLLM environment at {exe}: run scripts/setup-vllm-cpu.sh first")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # the vLLM environment stays untouched
    real = sweep(tmp_path, "vllm", "server=vllm", f"server.executable={exe}")
    # fit the cost model: TPOT at concurrency 1 = one decode step; the slope to concurrency 8
    # = the cost per extra sequence; TTFT at concurrency 1 minus a step = the prefill
    one, eight = real[0], real[CONCURRENCY.index(MAX_NUM_SEQS)]
    overhead = one["median_tpot_ms"]
    per_seq = max(0.0, (eight["median_tpot_ms"] - overhead) / (MAX_NUM_SEQS - 1))
    per_prefill = max(0.0, (one["median_ttft_ms"] - overhead) / INPUT_LEN)
    sim = sweep(
        tmp_path, "sim", "server=sim", "server.profile=default",
        f"server.step_overhead_ms={overhead:.4f}", f"server.decode_ms_per_seq={per_seq:.4f}",
        f"server.prefill_ms_per_token={per_prefill:.5f}", "server.kv_read_ms_per_token=0",
    )  # fmt: skip
    print(
        f"\n[sim vs vllm] fitted: step_overhead_ms={overhead:.3f} decode_ms_per_seq={per_seq:.3f}"
        f" prefill_ms_per_token={per_prefill:.4f}; {INPUT_LEN}-in/{OUTPUT_LEN}-out, "
        f"{PROMPTS} prompts per point, max_num_seqs={MAX_NUM_SEQS}"
    )
    table("real vLLM (CPU, tiny-random)", real)
    table("simulator (fitted)", sim)
    for results in (real, sim):
        tput, ttft = shape(results)
        knee = CONCURRENCY.index(MAX_NUM_SEQS)
        assert tput[knee] > 2 * tput[0]  # rises with concurrency up to max_num_seqs
        assert tput[-1] < 1.5 * tput[knee]  # then plateaus
        assert ttft[-1] > 2 * ttft[knee]  # queueing past max_num_seqs shows in TTFT
