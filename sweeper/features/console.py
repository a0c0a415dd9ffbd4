"""Lines of the result block for the feature metrics a job has (none for a plain job)."""

from __future__ import annotations

from typing import Any

from sweeper.features.apply import PRIORITY_LABEL, STRUCTURED_LABEL

_SERVER = (
    ("server_prefix_cache_hit_rate", "Prefix cache hit rate (server):"),
    ("server_spec_decode_acceptance_rate", "Spec decode acceptance rate:"),
    ("server_spec_decode_mean_acceptance_length", "Spec decode acceptance length:"),
    ("pooling_inputs_per_s", "Pooling inputs (inputs/s):"),
    ("pooling_input_tokens_per_s", "Pooling input tokens (tok/s):"),
    # sessions (sweeper.metrics.turns)
    ("session_throughput", "Session throughput (sessions/s):"),
    ("median_session_latency_ms", "Median session latency (ms):"),
    ("first_turn_median_ttft_ms", "Median TTFT, first turns (ms):"),
    ("later_turns_median_ttft_ms", "Median TTFT, later turns (ms):"),
    ("max_context_len", "Max context reached (tokens):"),
    # reasoning
    ("median_time_to_first_answer_ms", "Median time to first answer (ms):"),
    ("mean_reasoning_tokens", "Mean reasoning tokens:"),
)


def feature_lines(extra: dict[str, Any], line: Any) -> list[str]:
    """`line(label, value)` formats one row (sweeper.job.console's)."""
    out = [line(label, float(extra[key])) for key, label in _SERVER if key in extra]
    if "structured_output_checked" in extra:
        valid, checked = extra["structured_output_valid"], extra["structured_output_checked"]
        out.append(line("Structured outputs valid:", f"{valid}/{checked}"))
    for label in (PRIORITY_LABEL, STRUCTURED_LABEL):
        prefix = f"{label}."
        for key in sorted(k for k in extra if k.startswith(prefix) and k.endswith(".p99_ttft_ms")):
            value = key[len(prefix) : -len(".p99_ttft_ms")]
            out.append(line(f"P99 TTFT {label}={value} (ms):", float(extra[key])))
    return out
