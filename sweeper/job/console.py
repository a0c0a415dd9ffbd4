"""The vLLM-style "Serving Benchmark Result" block."""

from __future__ import annotations

from typing import Any

from sweeper.features.console import feature_lines

_METRICS = [
    ("ttft", "TTFT", "Time to First Token"),
    ("tpot", "TPOT", "Time per Output Token (excl. 1st token)"),
    ("itl", "ITL", "Inter-token Latency"),
    ("e2el", "E2EL", "End-to-end Latency"),
]


def _line(label: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{label:<40} {value:<10.2f}"
    return f"{label:<40} {value!s:<10}"


def result_block(summary: dict[str, Any], title: str = "Serving Benchmark Result") -> str:
    """Lines like vLLM's bench serve output for a `summarize` dict; `title` heads the block."""
    s = summary
    lines = ["{s:{c}^{n}}".format(s=f" {title} ", n=50, c="=")]
    lines.append(_line("Successful requests:", s["completed"]))
    lines.append(_line("Failed requests:", s["failed"]))
    if s.get("max_concurrency") is not None:
        lines.append(_line("Maximum request concurrency:", s["max_concurrency"]))
    if s.get("request_rate") not in (None, "inf"):
        lines.append(_line("Request rate configured (RPS):", float(s["request_rate"])))
    lines.append(_line("Benchmark duration (s):", float(s["duration"])))
    lines.append(_line("Total input tokens:", s["total_input_tokens"]))
    lines.append(_line("Total generated tokens:", s["total_output_tokens"]))
    lines.append(_line("Request throughput (req/s):", float(s["request_throughput"])))
    if s.get("request_goodput") is not None:
        lines.append(_line("Request goodput (req/s):", float(s["request_goodput"])))
    lines.append(_line("Output token throughput (tok/s):", float(s["output_throughput"])))
    lines.append(
        _line("Peak output token throughput (tok/s):", float(s["max_output_tokens_per_s"]))
    )
    lines.append(_line("Peak concurrent requests:", float(s["max_concurrent_requests"])))
    lines.append(_line("Total token throughput (tok/s):", float(s["total_token_throughput"])))
    for key, name, header in _METRICS:
        if f"mean_{key}_ms" not in s:
            continue
        lines.append("{s:{c}^{n}}".format(s=header, n=50, c="-"))
        lines.append(_line(f"Mean {name} (ms):", float(s[f"mean_{key}_ms"])))
        lines.append(_line(f"Median {name} (ms):", float(s[f"median_{key}_ms"])))
        suffix = f"_{key}_ms"
        for k, v in s.items():
            if (
                k.startswith("p")
                and k.endswith(suffix)
                and k[1 : -len(suffix)].replace(".", "").isdigit()
            ):
                lines.append(_line(f"P{k[1 : -len(suffix)]} {name} (ms):", float(v)))
    extra = s.get("sweeper") or {}
    errors = extra.get("errors_by_reason") or {}
    if errors:
        lines.append("{s:{c}^{n}}".format(s="Errors", n=50, c="-"))
        for reason, n in sorted(errors.items(), key=lambda kv: -kv[1]):
            lines.append(_line(f"{reason}:", n))
    features = feature_lines(extra, _line)
    if features:
        lines.append("{s:{c}^{n}}".format(s="Features", n=50, c="-"))
        lines.extend(features)
    client = _client_lines(extra)
    if client:
        lines.append("{s:{c}^{n}}".format(s="Client", n=50, c="-"))
        lines.extend(client)
    lines.append("=" * 50)
    return "\n".join(lines)


# event-loop lag (p99, ms) above which the block warns that the client may be the bottleneck
LAG_WARN_MS = 10.0


def _client_lines(extra: dict[str, Any]) -> list[str]:
    lines = []
    if extra.get("send_rate") is not None:
        lines.append(_line("Achieved send rate (req/s):", float(extra["send_rate"])))
    if "p99_send_lateness_ms" in extra:
        lines.append(_line("P99 send lateness (ms):", float(extra["p99_send_lateness_ms"])))
    if extra.get("client_cpu_us_per_output_token") is not None:
        cost = float(extra["client_cpu_us_per_output_token"])
        lines.append(_line("Client CPU per output token (us):", cost))
    lag = extra.get("p99_loop_lag_ms")
    if lag is not None:
        lines.append(_line("P99 client event-loop lag (ms):", float(lag)))
        if lag > LAG_WARN_MS:
            lines.append("note: the client was busy; timings may be late (try load.workers)")
    return lines
