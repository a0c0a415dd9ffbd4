"""`summarize`: a BenchmarkRun as the dict `vllm bench serve --save-result` writes, plus extras.

Top-level keys and their formulas follow vllm/benchmarks/serve.py (calculate_metrics and the
result dict): only successful requests enter token counts and latency statistics; statistics of
an empty list are 0; std is the population std; percentile keys are `p{P}_{metric}_ms` with P
written as an int when whole (`p99`, `p99.9`). Sweeper's own figures sit under `"sweeper"`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from sweeper.metrics.per_request import e2el_ms, itls_ms, tpot_ms, ttft_ms
from sweeper.metrics.series import max_output_tokens_per_s, peak_concurrency
from sweeper.records import RequestRecord

if TYPE_CHECKING:
    from sweeper.client.benchmark_run import BenchmarkRun
    from sweeper.schema import SloConfig


def percentile_word(p: float) -> str:
    return str(int(p)) if int(p) == p else str(p)


def stats(
    name: str, values: list[float] | np.ndarray, percentiles: list[float]
) -> dict[str, float]:
    """mean_/median_/std_/p<N>_ keys of `name` (vLLM: an empty list counts as [0])."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        arr = np.zeros(1)
    out = {
        f"mean_{name}": float(np.mean(arr)),
        f"median_{name}": float(np.median(arr)),
        f"std_{name}": float(np.std(arr)),
    }
    for p in percentiles:
        out[f"p{percentile_word(p)}_{name}"] = float(np.percentile(arr, p))
    return out


def is_good(rec: RequestRecord, slo: SloConfig) -> bool:
    """vLLM's goodput test: every configured SLO >= the request's value (TPOT 0 for 1 token)."""
    if slo.ttft_ms is not None and ttft_ms(rec) > slo.ttft_ms:
        return False
    if slo.tpot_ms is not None and (tpot_ms(rec) or 0.0) > slo.tpot_ms:
        return False
    return not (slo.e2el_ms is not None and e2el_ms(rec) > slo.e2el_ms)


def error_reason(error: str) -> str:
    return error.split(":", 1)[0].strip() or "unknown"


def summarize(run: BenchmarkRun, slo: SloConfig, percentiles: list[float]) -> dict[str, Any]:
    load = run.load
    measured = run.measured
    ok = [r for r in measured if r.success]
    failed = [r for r in measured if not r.success]
    duration_s = max(run.t_end_ns - run.t_measure_start_ns, 1) / 1e9
    # like vLLM: the server's prompt count where it reported one, else the dataset's
    total_in = sum(
        r.server_prompt_len if r.server_prompt_len is not None else r.prompt_len for r in ok
    )
    total_out = sum(r.output_len for r in ok)
    has_slo = any(v is not None for v in (slo.ttft_ms, slo.tpot_ms, slo.e2el_ms))
    good = sum(1 for r in ok if is_good(r, slo)) if has_slo else 0
    itls = np.concatenate([itls_ms(r) for r in ok]) if ok else np.zeros(0)
    open_loop = (
        not math.isinf(load.request_rate)
        or load.ramp_up_strategy is not None
        or load.schedule == "trace"
    )

    result: dict[str, Any] = {
        "backend": load.backend,
        "endpoint_type": load.backend,
        "model_id": run.model,
        "num_prompts": len(measured),
        "request_rate": load.request_rate if not math.isinf(load.request_rate) else "inf",
        "burstiness": load.burstiness,
        "max_concurrency": load.concurrency,
    }
    if load.ramp_up_strategy is not None:
        result["ramp_up_strategy"] = load.ramp_up_strategy
        result["ramp_up_start_rps"] = load.ramp_up_start_rps
        result["ramp_up_end_rps"] = load.ramp_up_end_rps
    result.update(
        {
            "duration": duration_s,
            "completed": len(ok),
            "failed": len(failed),
            "total_input_tokens": total_in,
            "total_output_tokens": total_out,
            "request_throughput": len(ok) / duration_s,
            "request_goodput": good / duration_s if has_slo else None,
            "output_throughput": total_out / duration_s,
            "total_token_throughput": (total_in + total_out) / duration_s,
            "max_output_tokens_per_s": max_output_tokens_per_s(ok),
            "max_concurrent_requests": peak_concurrency([(r.t_send_ns, r.t_end_ns) for r in ok]),
        }
    )
    result.update(stats("ttft_ms", [ttft_ms(r) for r in ok], percentiles))
    tpots = [t for r in ok if (t := tpot_ms(r)) is not None]
    result.update(stats("tpot_ms", tpots, percentiles))
    result.update(stats("itl_ms", itls, percentiles))
    result.update(stats("e2el_ms", [e2el_ms(r) for r in ok], percentiles))
    if load.concurrency is not None:
        # vLLM: time from arrival in the client to send, and E2EL including it (open loop)
        queue = [(r.t_send_ns - r.t_scheduled_ns) / 1e6 for r in ok]
        result.update(stats("client_queue_time_ms", queue, percentiles))
        if open_loop:
            incl = [q + e2el_ms(r) for q, r in zip(queue, ok, strict=True)]
            result.update(stats("e2el_including_client_queue_ms", incl, percentiles))
    result["sweeper"] = extras(run, measured, ok, percentiles, open_loop, duration_s)
    return result


def extras(
    run: BenchmarkRun,
    measured: list[RequestRecord],
    ok: list[RequestRecord],
    percentiles: list[float],
    open_loop: bool,
    duration_s: float,
) -> dict[str, Any]:
    """Sweeper's own figures (nested under "sweeper" in result.json)."""
    load = run.load
    out: dict[str, Any] = {
        "warmup_excluded": len(run.records) - len(measured),
        "peak_concurrency": peak_concurrency([(r.t_send_ns, r.t_end_ns) for r in measured]),
        "peak_output_tokens_per_s": max_output_tokens_per_s(ok),
        "errors_by_reason": dict(Counter(error_reason(r.error) for r in measured if r.error)),
        "itl_per_token": bool(ok) and all(r.exact_chunk_tokens for r in ok),
        "output_len_mismatch": sum(
            1
            for r in ok
            if r.expected_output_len is not None and r.output_len != r.expected_output_len
        ),
        "client_cpu_s": run.client_cpu_ns / 1e9,
        "client_cpu_us_per_output_token": (
            run.client_cpu_ns / 1e3 / out_tokens
            if (out_tokens := sum(r.output_len for r in ok))
            else None
        ),
    }
    dispatched = [r.t_dispatch_ns for r in measured if r.t_dispatch_ns]
    if open_loop and dispatched:
        # achieved vs requested: requests released / time of the last release
        span_s = (max(dispatched) - run.t_measure_start_ns) / 1e9
        out["send_rate"] = len(dispatched) / span_s if span_s > 0 else None
        requested = load.request_rate
        out["requested_rate"] = None if math.isinf(requested) else requested
        achieved = out["send_rate"]
        # a session run's request_rate is of sessions, not requests: no error to compare
        single_shot = getattr(run, "sessions", None) is None
        fixed_rate = load.ramp_up_strategy is None and load.schedule == "rate" and single_shot
        if achieved and not math.isinf(requested) and fixed_rate:
            out["send_rate_error_pct"] = 100.0 * (achieved - requested) / requested
        late = [r.lateness_ms for r in measured if r.t_dispatch_ns]
        out.update(stats("send_lateness_ms", late, percentiles))
        out["max_send_lateness_ms"] = float(max(late))
        if load.concurrency is not None:
            # open loop under a cap: time released requests waited for a free slot
            queue = [r.queue_ms for r in measured if r.t_send_ns]
            out.update(stats("queue_ms", queue, percentiles))
    written = [(r.t_send_ns - r.t_post_ns) / 1e6 for r in measured
               if r.t_post_ns and r.t_send_ns]  # fmt: skip
    if written:
        # the client's own cost before the request leaves (kept out of TTFT and E2EL)
        out.update(stats("send_overhead_ms", written, percentiles))
    groups = by_label(ok, duration_s, percentiles)
    if groups:
        out["by_label"] = groups
    if run.loop_lag_ms:
        out.update(stats("loop_lag_ms", run.loop_lag_ms, percentiles))
        out["max_loop_lag_ms"] = float(max(run.loop_lag_ms))
    return out


def by_label(
    ok: list[RequestRecord], duration_s: float, percentiles: list[float]
) -> dict[str, dict[str, float]]:
    """Per label value (`prefix=3`, `priority_class=high`, ...): completed, output tok/s and
    TTFT / E2EL statistics of the successful requests that carry it."""
    groups: dict[str, list[RequestRecord]] = {}
    for r in ok:
        for key, value in r.labels.items():
            groups.setdefault(f"{key}={value}", []).append(r)
    out: dict[str, dict[str, float]] = {}
    for name, recs in sorted(groups.items()):
        row: dict[str, float] = {
            "completed": len(recs),
            "output_throughput": sum(r.output_len for r in recs) / duration_s,
        }
        row.update(stats("ttft_ms", [ttft_ms(r) for r in recs], percentiles))
        row.update(stats("e2el_ms", [e2el_ms(r) for r in recs], percentiles))
        out[name] = row
    return out
