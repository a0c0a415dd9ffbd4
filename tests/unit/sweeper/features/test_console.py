from __future__ import annotations

from sweeper.job.console import result_block
from tests.unit.sweeper.job.test_console import summary


def test_feature_lines_only_when_present() -> None:
    plain = result_block(summary())
    assert "Features" not in plain
    s = summary()
    s["sweeper"] = {
        **s.get("sweeper", {}),
        "server_prefix_cache_hit_rate": 0.875,
        "structured_output_checked": 8,
        "structured_output_valid": 6,
        "priority_class.high.p99_ttft_ms": 12.5,
        "priority_class.low.p99_ttft_ms": 80.0,
    }
    text = result_block(s)
    assert "Features" in text
    assert "Prefix cache hit rate (server):" in text and "0.88" in text
    assert "Structured outputs valid:                6/8" in text
    assert "P99 TTFT priority_class=high (ms):" in text and "12.50" in text
    assert text.index("priority_class=high") < text.index("priority_class=low")
