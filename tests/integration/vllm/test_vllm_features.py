"""Feature presets on real vLLM on CPU (model=tiny-random): prefix caching off vs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import Sweep

pytestmark = pytest.mark.vllm


def test_prefix_caching_preset_on_vllm(vllm_python: str, tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    proc = sweep.run(
        "-m", "+experiment=prefix_caching", "server=vllm", "model=tiny-random",
        f"server.executable={vllm_python}", "num_prompts=16", "dataset.num_documents=2",
        "dataset.document_len=768", "dataset.output_len=8", "print_result=false",
        timeout=580,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    off, on = sweep.results()
    assert off["completed"] == on["completed"] == 16
    assert off["sweeper"]["server_prefix_cache_hits"] == 0
    # 2 documents asked 8 times: 14 of 16 prompts find their document cached
    rate = on["sweeper"]["server_prefix_cache_hit_rate"]
    assert rate > 0.6
    print(
        f"\nvLLM CPU prefix caching: median TTFT off {off['median_ttft_ms']:.1f} ms, "
        f"on {on['median_ttft_ms']:.1f} ms, hit rate {rate:.3f}"
    )
    assert on["median_ttft_ms"] < off["median_ttft_ms"]
