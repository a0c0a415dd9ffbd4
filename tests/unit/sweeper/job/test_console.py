from __future__ import annotations

from sweeper.job.console import result_block


def summary() -> dict:
    s = {
        "completed": 40, "failed": 1, "max_concurrency": 8, "request_rate": "inf",
        "duration": 2.5, "total_input_tokens": 1000, "total_output_tokens": 500,
        "request_throughput": 16.0, "request_goodput": None, "output_throughput": 200.0,
        "max_output_tokens_per_s": 260.0, "max_concurrent_requests": 8,
        "total_token_throughput": 600.0,
        "sweeper": {"errors_by_reason": {"timeout": 1}},
    }  # fmt: skip
    for key in ("ttft", "tpot", "itl", "e2el"):
        s |= {f"mean_{key}_ms": 1.5, f"median_{key}_ms": 1.25, f"p99_{key}_ms": 9.0}
        s[f"p99.9_{key}_ms"] = 10.0
    return s


def test_block_looks_like_vllms() -> None:
    text = result_block(summary(), "Serving Benchmark Result (SIMULATED server)")
    lines = text.splitlines()
    assert lines[0].startswith("=") and "SIMULATED" in lines[0] and len(lines[0]) == 50
    assert lines[-1] == "=" * 50
    assert "Successful requests:                     40" in text
    assert "Maximum request concurrency:             8" in text
    assert "Output token throughput (tok/s):         200.00" in text
    assert "P99 TTFT (ms):                           9.00" in text
    assert "P99.9 ITL (ms):                          10.00" in text
    assert "Request rate configured" not in text and "goodput" not in text
    assert "timeout:" in text


def test_rate_and_goodput_lines_appear_when_set() -> None:
    s = summary() | {"request_rate": 5.0, "request_goodput": 3.5}
    text = result_block(s, "T")
    assert "Request rate configured (RPS):           5.00" in text
    assert "Request goodput (req/s):                 3.50" in text


def test_client_section_and_busy_warning() -> None:
    s = summary()
    s["sweeper"] |= {"client_cpu_us_per_output_token": 25.0, "p99_loop_lag_ms": 2.0}
    text = result_block(s, "T")
    assert "Client CPU per output token (us):        25.00" in text and "note:" not in text
    s["sweeper"]["p99_loop_lag_ms"] = 42.0
    assert "try load.workers" in result_block(s, "T")
