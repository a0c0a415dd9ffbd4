"""+experiment=pooling end to end on the simulator: embeddings and rerank (not streaming),
E2EL and throughput in inputs/s and tokens/s, in result.json and MLflow."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, job_metrics, run_ok


def test_pooling_preset_embeddings_and_rerank(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep, "+experiment=pooling", *FAST, "num_prompts=20", "dataset.num_documents=4"
    )
    emb, rerank = results
    assert (emb["backend"], rerank["backend"]) == ("openai-embeddings", "rerank")
    for r in results:
        assert r["completed"] == 20 and r["total_output_tokens"] == 0
        assert r["mean_e2el_ms"] == r["mean_ttft_ms"] > 0
    # the query plus 4 documents: 5 texts embedded, 4 documents scored per request
    assert emb["sweeper"]["pooling_inputs"] == 100
    assert rerank["sweeper"]["pooling_inputs"] == 80
    for r in results:
        rate = r["sweeper"]["pooling_input_tokens_per_s"]
        assert rate == r["total_input_tokens"] / r["duration"]
    m_emb, m_rerank = job_metrics(sweep)
    assert m_rerank["sweeper.pooling_inputs_per_s"] == rerank["sweeper"]["pooling_inputs_per_s"]
    assert {"mean_e2el_ms", "request_throughput", "sweeper.pooling_input_tokens_per_s"} <= set(
        m_emb
    )
