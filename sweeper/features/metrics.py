"""Feature metrics of a finished run (flat keys under result.json's "sweeper" extras, logged
to MLflow as `sweeper.<key>`): server figures from the scraped `/metrics`, latency statistics
per request class (`priority_class.high.p99_ttft_ms`), the share of structured outputs that
validate, pooling throughput (inputs/s, tokens/s)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sweeper.features.apply import PRIORITY_LABEL, STRUCTURED_LABEL
from sweeper.features.structured import constraint_of, is_valid
from sweeper.metrics.per_request import e2el_ms, tpot_ms, ttft_ms
from sweeper.metrics.summary import stats
from sweeper.records import RequestRecord, RequestSpec

if TYPE_CHECKING:
    import pandas as pd

    from sweeper.client.benchmark_run import BenchmarkRun

SPLIT_LABELS = (PRIORITY_LABEL, STRUCTURED_LABEL)
# the raw speculative-decoding counters (the rates alone hide "no draft was proposed")
SPEC_COUNTERS = {
    "server_spec_decode_num_drafts": "vllm:spec_decode_num_drafts_total",
    "server_spec_decode_num_draft_tokens": "vllm:spec_decode_num_draft_tokens_total",
    "server_spec_decode_num_accepted_tokens": "vllm:spec_decode_num_accepted_tokens_total",
}
POOLING_BACKENDS = ("openai-embeddings", "rerank", "score")
INVALID_EXAMPLES = 3


def feature_metrics(
    run: BenchmarkRun,
    specs: list[RequestSpec],
    percentiles: list[float],
    server_metrics: pd.DataFrame | None = None,
) -> dict[str, Any]:
    measured = run.measured
    out: dict[str, Any] = {}
    if server_metrics is not None and len(server_metrics):
        from sweeper.telemetry.server_figures import summarize as server_summary

        out.update(server_summary(server_metrics))
        out.update(counter_deltas(server_metrics, SPEC_COUNTERS))
    for label in SPLIT_LABELS:
        out.update(split_by(label, measured, percentiles))
    out.update(structured_validity(measured, specs))
    if run.load.backend in POOLING_BACKENDS:
        duration_s = max(run.t_end_ns - run.t_measure_start_ns, 1) / 1e9
        out.update(pooling_throughput(measured, specs, duration_s, run.load.backend))
    return out


def counter_deltas(scraped: pd.DataFrame, names: dict[str, str]) -> dict[str, float]:
    """Change over the job of each counter present (summed over label sets per scrape)."""
    out: dict[str, float] = {}
    for key, name in names.items():
        rows = scraped[scraped["name"] == name]
        if len(rows):
            per_scrape = rows.groupby("t_ns", sort=True)["value"].sum()
            out[key] = float(per_scrape.iloc[-1] - per_scrape.iloc[0])
    return out


def spec_of(rec: RequestRecord, specs: list[RequestSpec]) -> RequestSpec:
    """The spec a record was sent from (the client sends spec `index % len(specs)`)."""
    return specs[rec.index % len(specs)]


def split_by(label: str, records: Iterable[RequestRecord], percentiles: list[float]) -> dict:
    """`<label>.<value>.<stat>` for each value of `label`: completed, failed, TTFT/TPOT/E2EL
    statistics of the successful requests (keys as the top-level ones: p99_ttft_ms, …)."""
    groups: dict[str, list[RequestRecord]] = {}
    for rec in records:
        if label in rec.labels:
            groups.setdefault(rec.labels[label], []).append(rec)
    out: dict[str, Any] = {}
    for value, recs in sorted(groups.items()):
        ok = [r for r in recs if r.success]
        part: dict[str, Any] = {"completed": len(ok), "failed": len(recs) - len(ok)}
        part.update(stats("ttft_ms", [ttft_ms(r) for r in ok], percentiles))
        part.update(stats("tpot_ms", [t for r in ok if (t := tpot_ms(r)) is not None], percentiles))
        part.update(stats("e2el_ms", [e2el_ms(r) for r in ok], percentiles))
        out.update({f"{label}.{value}.{k}": v for k, v in part.items()})
    return out


def structured_validity(records: list[RequestRecord], specs: list[RequestSpec]) -> dict:
    """Of the successful constrained requests: how many outputs satisfy their constraint."""
    checked = valid = unchecked = 0
    invalid: list[str] = []
    for rec in records:
        if not rec.success:
            continue
        c = constraint_of(spec_of(rec, specs).extra_body)
        if c is None:
            continue
        verdict = is_valid(c, rec.generated_text)
        if verdict is None:
            unchecked += 1
            continue
        checked += 1
        valid += int(verdict)
        if not verdict and len(invalid) < INVALID_EXAMPLES:
            invalid.append(rec.generated_text[:300])
    if not (checked or unchecked):
        return {}
    out: dict[str, Any] = {
        "structured_output_checked": checked,
        "structured_output_valid": valid,
        "structured_output_unchecked": unchecked,
    }
    if checked:
        out["structured_output_valid_rate"] = valid / checked
    if invalid:
        # the first few outputs that failed validation (text, cut), to see why
        out["structured_output_invalid_examples"] = invalid
    return out


def pooling_throughput(
    records: list[RequestRecord], specs: list[RequestSpec], duration_s: float, backend: str
) -> dict[str, float]:
    """Inputs per second (texts embedded, documents scored) and input tokens per second."""
    ok = [r for r in records if r.success]
    inputs = 0
    for r in ok:
        docs = len(spec_of(r, specs).extra_body.get("documents") or [])
        inputs += docs + 1 if backend == "openai-embeddings" else max(docs, 1)
    return {
        "pooling_inputs": float(inputs),
        "pooling_inputs_per_s": inputs / duration_s,
        "pooling_input_tokens_per_s": sum(r.prompt_len for r in ok) / duration_s,
    }
