"""+experiment=prefix_caching end to end on the simulator: caching off vs on, hit rate from the
server's /metrics deltas, TTFT, both in result.json and in MLflow."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Sweep
from tests.integration.features.support import job_metrics, params_of, run_ok


def test_prefix_caching_preset_hit_rate_and_ttft(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    # the default profile: a 1k-token prefill costs ~30 ms, a cached one ~1 ms
    results = run_ok(
        sweep,
        "+experiment=prefix_caching",
        "num_prompts=24",
        "dataset.output_len=4",
        "dataset.num_documents=3",
        "load.progress=false",
    )
    assert len(results) == 2
    off, on = (r["sweeper"] for r in results)
    assert off["server_prefix_cache_hits"] == 0
    assert "server_prefix_cache_hit_rate" not in off
    # 3 documents asked 8 times: at most the first ask of each misses
    assert on["server_prefix_cache_hit_rate"] > 0.7
    ttft_off, ttft_on = results[0]["median_ttft_ms"], results[1]["median_ttft_ms"]
    print(f"\nsim prefix caching: median TTFT off {ttft_off:.1f} ms, on {ttft_on:.1f} ms")
    assert ttft_on < ttft_off
    assert [p["server.enable_prefix_caching"] for p in params_of(sweep)] == ["False", "True"]
    m_off, m_on = job_metrics(sweep)
    assert m_on["sweeper.server_prefix_cache_hit_rate"] == on["server_prefix_cache_hit_rate"]
    assert m_off["sweeper.server_prefix_cache_queries"] == 0
    assert {"median_ttft_ms", "sweeper.server_prefix_cache_hits"} <= set(m_on)
