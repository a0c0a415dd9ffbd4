"""Per-job summary values from scraped `/metrics` (the long frame of `MetricsScraper.stop()`).

Counters are summed over label sets (one per engine) at each scrape and reported as the change
over the job; gauges as their maximum. Old and new vLLM metric names are both understood.
"""

from __future__ import annotations

import pandas as pd

HITS = ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total")
QUERIES = ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total")
PREEMPTIONS = ("vllm:num_preemptions_total",)
SPEC_ACCEPTED = ("vllm:spec_decode_num_accepted_tokens_total",)
SPEC_DRAFT_TOKENS = ("vllm:spec_decode_num_draft_tokens_total",)
SPEC_DRAFTS = ("vllm:spec_decode_num_drafts_total",)
KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
WAITING = ("vllm:num_requests_waiting",)
RUNNING = ("vllm:num_requests_running",)


def summarize(scraped: pd.DataFrame) -> dict[str, float]:
    """`server_*` values present in the scrape: prefix-cache hit rate, preemptions, spec-decode
    acceptance, max KV-cache usage (0..1), max waiting/running requests. Absent metrics are
    left out (e.g. no speculative decoding → no acceptance keys)."""
    out: dict[str, float] = {}
    if scraped.empty:
        return out
    totals = scraped.groupby(["name", "t_ns"], sort=True)["value"].sum()
    hits, queries = _delta(totals, HITS), _delta(totals, QUERIES)
    if hits is not None and queries is not None:
        out["server_prefix_cache_hits"] = hits
        out["server_prefix_cache_queries"] = queries
        if queries > 0:
            out["server_prefix_cache_hit_rate"] = hits / queries
    preemptions = _delta(totals, PREEMPTIONS)
    if preemptions is not None:
        out["server_num_preemptions"] = preemptions
    accepted = _delta(totals, SPEC_ACCEPTED)
    draft_tokens = _delta(totals, SPEC_DRAFT_TOKENS)
    drafts = _delta(totals, SPEC_DRAFTS)
    if accepted is not None and draft_tokens:
        out["server_spec_decode_acceptance_rate"] = accepted / draft_tokens
    if accepted is not None and drafts:
        out["server_spec_decode_mean_acceptance_length"] = 1.0 + accepted / drafts
    for key, names in (
        ("server_max_kv_cache_usage", KV_USAGE),
        ("server_max_num_requests_waiting", WAITING),
        ("server_max_num_requests_running", RUNNING),
    ):
        series = _series(totals, names)
        if series is not None:
            out[key] = float(series.max())
    return out


def _series(totals: pd.Series, names: tuple[str, ...]) -> pd.Series | None:
    present = totals.index.get_level_values("name")
    for name in names:
        if name in present:
            return totals.loc[name]
    return None


def _delta(totals: pd.Series, names: tuple[str, ...]) -> float | None:
    series = _series(totals, names)
    if series is None:
        return None
    return float(series.iloc[-1] - series.iloc[0])
