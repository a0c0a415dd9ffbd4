"""vLLM `bench serve` summary keys computed from per-request rows (used by the synthetic
sweeps that tests and benchmarks build; the real job computes them in `sweeper.metrics`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

LATENCIES: tuple[str, ...] = ("ttft", "tpot", "itl", "e2el")


def latency_stats(name: str, values: np.ndarray, percentiles: Sequence[float]) -> dict[str, float]:
    if values.size == 0:
        values = np.zeros(1)
    stats = {
        f"mean_{name}_ms": float(values.mean()),
        f"median_{name}_ms": float(np.median(values)),
        f"std_{name}_ms": float(values.std()),
    }
    for p in percentiles:
        label = str(int(p)) if float(p).is_integer() else str(p)
        stats[f"p{label}_{name}_ms"] = float(np.percentile(values, p))
    return stats


def summarize_requests(
    requests: pd.DataFrame,
    slo: Mapping[str, float | None],
    percentiles: Sequence[float] = (50.0, 90.0, 99.0),
    max_concurrency: int | None = None,
    request_rate: float = float("inf"),
    burstiness: float = 1.0,
) -> dict[str, float | int | None]:
    """The summary `vllm bench serve --save-result` writes, from a requests.parquet frame."""
    ok = requests[requests["success"]]
    start = int(requests["t_send_ns"].min())
    end = int(requests["t_end_ns"].max())
    duration = max(end - start, 1) / 1e9
    itl = (
        np.concatenate([np.asarray(x, dtype=float) for x in ok["itl_ms"]])
        if len(ok)
        else np.zeros(0)
    )
    good = pd.Series(True, index=ok.index)
    for key, bound in slo.items():
        if bound is not None:
            good &= ok[key] <= bound
    summary: dict[str, float | int | None] = {
        "completed": len(ok),
        "failed": len(requests) - len(ok),
        "duration": duration,
        "total_input_tokens": int(ok["prompt_len"].sum()),
        "total_output_tokens": int(ok["output_len"].sum()),
        "request_throughput": len(ok) / duration,
        "request_goodput": int(good.sum()) / duration,
        "output_throughput": float(ok["output_len"].sum()) / duration,
        "total_token_throughput": float(ok["prompt_len"].sum() + ok["output_len"].sum()) / duration,
        "max_concurrency": max_concurrency,
        "request_rate": request_rate,
        "burstiness": burstiness,
    }
    columns = {"ttft": ok["ttft_ms"], "tpot": ok["tpot_ms"], "e2el": ok["e2el_ms"]}
    for name in LATENCIES:
        values = itl if name == "itl" else np.asarray(columns[name], dtype=float)
        summary.update(latency_stats(name, values, percentiles))
    return summary
