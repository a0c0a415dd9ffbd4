"""+experiment=spec_decode end to end on the simulator: 3 vs 5 speculative tokens, acceptance
rate and length from the server's /metrics deltas per job, in result.json and MLflow."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Sweep
from tests.integration.features.support import FAST, job_metrics, run_ok


def test_spec_decode_preset_acceptance(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path)
    results = run_ok(
        sweep, "+experiment=spec_decode", *FAST, "num_prompts=16", "dataset.output_len=64"
    )
    k3, k5 = (r["sweeper"] for r in results)
    for r in results:
        assert r["total_output_tokens"] == 16 * 64 and r["sweeper"]["output_len_mismatch"] == 0
    # acceptance 0.7 per draft token: a longer draft accepts a smaller share, more tokens
    rate3, rate5 = (
        k3["server_spec_decode_acceptance_rate"],
        k5["server_spec_decode_acceptance_rate"],
    )
    len3 = k3["server_spec_decode_mean_acceptance_length"]
    len5 = k5["server_spec_decode_mean_acceptance_length"]
    print(
        f"\nsim spec decode: k=3 rate {rate3:.3f} len {len3:.2f}; "
        f"k=5 rate {rate5:.3f} len {len5:.2f}"
    )
    assert 0 < rate5 < rate3 < 1
    assert 1 < len3 < len5 < 6
    for k, extras in ((3, k3), (5, k5)):
        drafts = extras["server_spec_decode_num_drafts"]
        assert extras["server_spec_decode_num_draft_tokens"] == k * drafts > 0
        # every output token past each request's first: a verified token or an accepted draft
        assert drafts + extras["server_spec_decode_num_accepted_tokens"] == 16 * 63
    m3, m5 = job_metrics(sweep)
    assert m5["sweeper.server_spec_decode_acceptance_rate"] == rate5
    assert m3["sweeper.server_spec_decode_mean_acceptance_length"] == len3
