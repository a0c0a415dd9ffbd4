"""The bench's sections: each runs its measurements and returns its figures with targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sweeper.bench import client_cost, tooling
from sweeper.bench.clients import vllm_available
from sweeper.bench.report import Figure

Log = Callable[[str], None]
# the floor client's label: what this machine allows a Python asyncio client (floor_client.py)
FLOOR = "floor (bare asyncio client, no HTTP library)"


def client(workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    out: list[Figure] = []
    if not vllm_available():
        log("[bench] vllm bench serve not found (SWEEPER_VLLM_PYTHON): sweeper alone")
    loads = {name: client_cost.workload(name, quick) for name in ("a", "b", "idle")}
    medians = {name: client_cost.measure(w, repeats, workdir / name, True, log)
               for name, w in loads.items()}  # fmt: skip
    a, b, idle = medians["a"], medians["b"], medians["idle"]
    wa, wb, wi = (_shape(loads[n]) for n in ("a", "b", "idle"))
    va = a.get("vllm", {}).get("cpu_us_per_token", float("nan"))
    out += [
        Figure("a_cpu_us_per_token", f"a: {wa}, 0 latency — CPU/token",
               a["sweeper"]["cpu_us_per_token"], "µs", 4.0),
        Figure("a_cpu_vs_vllm", "a: CPU/token, sweeper / vllm bench serve",
               a["sweeper"]["cpu_us_per_token"] / va, "×", 0.5),
        Figure("a_vllm_cpu_us_per_token", "a: vllm bench serve CPU/token", va, "µs"),
        Figure("a_floor_cpu_us_per_token", f"a: {FLOOR} CPU/token",
               a["floor"]["cpu_us_per_token"], "µs"),
        Figure("a_core_pct", "a: sweeper core share in flight",
               a["sweeper"]["core_share_pct"], "%"),
        Figure("a_server_core_pct", "a: the fake server's core share, same runs",
               a["sweeper"]["server_core_share_pct"], "%"),
        Figure("a_cpu_us_per_token_to_exit", "a: CPU/token, all included (to exit)",
               a["sweeper"]["cpu_us_per_token_to_exit"], "µs"),
        Figure("a_vllm_cpu_us_per_token_to_exit", "a: vllm bench serve, all included",
               a.get("vllm", {}).get("cpu_us_per_token_to_exit", float("nan")), "µs"),
        Figure("a_ttft_err_p50_ms", "a: TTFT error p50", a["sweeper"]["ttft_err_p50_ms"], "ms"),
        Figure("a_ttft_err_p99_ms", "a: TTFT error p99", a["sweeper"]["ttft_err_p99_ms"], "ms",
               10.0),
        Figure("a_vllm_ttft_err_p99_ms", "a: vllm bench serve TTFT error p99",
               a.get("vllm", {}).get("ttft_err_p99_ms", float("nan")), "ms"),
        Figure("b_cpu_us_per_token", f"b: {wb}, TTFT 50 ms, ITL 5 ms — CPU/token",
               b["sweeper"]["cpu_us_per_token"], "µs", 20.0),
        Figure("b_vllm_cpu_us_per_token", "b: vllm bench serve CPU/token",
               b.get("vllm", {}).get("cpu_us_per_token", float("nan")), "µs"),
        Figure("b_floor_cpu_us_per_token", f"b: {FLOOR} CPU/token",
               b["floor"]["cpu_us_per_token"], "µs"),
        Figure("b_cpu_us_per_token_to_exit", "b: CPU/token, all included (to exit)",
               b["sweeper"]["cpu_us_per_token_to_exit"], "µs"),
        Figure("b_vllm_cpu_us_per_token_to_exit", "b: vllm bench serve, all included",
               b.get("vllm", {}).get("cpu_us_per_token_to_exit", float("nan")), "µs"),
        Figure("b_ttft_err_p50_ms", "b: TTFT error p50", b["sweeper"]["ttft_err_p50_ms"], "ms"),
        Figure("b_ttft_err_p99_ms", "b: TTFT error p99", b["sweeper"]["ttft_err_p99_ms"], "ms",
               1.0),
        Figure("b_vllm_ttft_err_p99_ms", "b: vllm bench serve TTFT error p99",
               b.get("vllm", {}).get("ttft_err_p99_ms", float("nan")), "ms"),
        Figure("idle_core_pct", f"idle: {wi}, ITL 5 ms — core share",
               idle["sweeper"]["core_share_pct"], "%", 1.0),
        Figure("idle_vllm_core_pct", "idle: vllm bench serve core share",
               idle.get("vllm", {}).get("core_share_pct", float("nan")), "%"),
        Figure("idle_floor_core_pct", f"idle: {FLOOR} core share",
               idle["floor"]["core_share_pct"], "%"),
    ]  # fmt: skip
    return out


def _shape(w: client_cost.Workload) -> str:
    return f"{w.requests}×{w.output_len} tok, c{w.concurrency}"


def startup(workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    s = tooling.startup_s(workdir, repeats)
    return [
        Figure("help_s", "python -m sweeper --help", s["help_s"], "s", 1.0),
        Figure("cfg_job_s", "python -m sweeper --cfg job", s["cfg_job_s"], "s"),
        Figure("plan_s", "python -m sweeper plan=true", s["plan_s"], "s"),
    ]


def orchestration(workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    s = tooling.orchestration_s_per_job(workdir, points=5, num_prompts=20 if quick else 50)
    return [Figure("orchestration_s_per_job",
                   "5-point sweep, sim fast, SQLite (store exists): s/job beyond benchmark",
                   s["orchestration_s_per_job"], "s", 0.5),
            Figure("orchestration_steady_s_per_job",
                   "  the same, jobs 2-5 only (start-up, MLflow import, server start left out)",
                   s["orchestration_steady_s_per_job"], "s")]  # fmt: skip


def analysis(workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    runs = 100 if quick else 1000
    s = tooling.analysis_s(workdir, runs)
    return [
        Figure("sync_job_dirs_s", f"sync {runs} job dirs into MLflow (SQLite)", s["sync_s"], "s"),
        Figure(
            "load_report_s",
            f"analysis: load + report of {runs} runs",
            s["load_report_s"],
            "s",
            10.0,
        ),
    ]


def simulator(workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    from sweeper.bench import sim_figures

    return sim_figures.figures(workdir, quick, log)


RUNNERS: dict[str, Callable[[Path, bool, int, Log], list[Figure]]] = {
    "client": client, "startup": startup, "orchestration": orchestration,
    "analysis": analysis, "simulator": simulator,
}  # fmt: skip


def run(name: str, workdir: Path, quick: bool, repeats: int, log: Log) -> list[Figure]:
    workdir.mkdir(parents=True, exist_ok=True)
    return RUNNERS[name](workdir, quick, repeats, log)
