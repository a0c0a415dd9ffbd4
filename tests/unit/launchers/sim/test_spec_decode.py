"""Speculative decoding in the simulator, driven step by step without a clock."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from instruments.errors import ConfigError
from launchers.config import ModelConfig
from launchers.kinds.sim import SimKind, SimServerConfig
from launchers.sim.profiles import FAST, resolve
from launchers.sim.prom_metrics import SimMetrics
from launchers.sim.scheduler import Scheduler, SimRequest, Status
from launchers.sim.spec_decode import SpecDecodeScheduler, make_scheduler


def run(s: Scheduler, reqs: list[SimRequest]) -> int:
    for r in reqs:
        s.add(r)
    steps = now = 0
    while s.has_work() and steps < 10_000:
        plan = s.schedule(now)
        now += 1
        s.finish_step(plan, now)
        steps += 1
    return steps


def reqs(n: int, out: int) -> list[SimRequest]:
    return [SimRequest(f"r{i}", 32, out, "length", arrival_ns=0) for i in range(n)]


@pytest.mark.parametrize(("k", "p"), [(3, 0.7), (5, 0.7), (4, 0.0), (2, 1.0)])
def test_exact_outputs_fewer_steps_and_counters(k: int, p: float) -> None:
    params = replace(FAST, num_speculative_tokens=k, spec_acceptance_rate=p)
    spec = make_scheduler(params)
    assert isinstance(spec, SpecDecodeScheduler)
    done = reqs(6, 40)
    spec_steps = run(spec, done)
    plain_steps = run(Scheduler(FAST), reqs(6, 40))
    assert all(r.status is Status.FINISHED and r.num_output == 40 for r in done)
    assert spec.stats.generation_tokens == 6 * 40
    st = spec.spec_stats
    assert st.draft_tokens == k * st.drafts
    # every token past the first comes from a decode step: its own or an accepted draft
    assert st.drafts + st.accepted_tokens == 6 * 39
    rate = st.accepted_tokens / st.draft_tokens
    if p == 0.0:
        assert st.accepted_tokens == 0 and spec_steps == plain_steps
    elif p == 1.0:
        assert rate > 0.9 and spec_steps < plain_steps / 2
    else:  # E[accepted] = p + p^2 + ... + p^k
        expected = sum(p**i for i in range(1, k + 1)) / k
        assert abs(rate - expected) < 0.1
        assert spec_steps < plain_steps


def test_verification_costs_prefill_tokens_and_counters_render() -> None:
    s = make_scheduler(replace(FAST, num_speculative_tokens=3))
    r = reqs(1, 10)[0]
    s.add(r)
    s.finish_step(s.schedule(0), 1)  # prefill
    plan = s.schedule(1)
    assert plan.decode_seqs == 1 and plan.prefill_tokens == 3
    text = SimMetrics(s, "m", "fast").render()
    assert "vllm:spec_decode_num_draft_tokens_total" in text
    assert "spec_decode" not in SimMetrics(make_scheduler(FAST), "m", "fast").render()


def test_options_and_launcher_translation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--spec-acceptance-rate"):
        resolve("fast", {"spec_acceptance_rate": 1.5})
    cfg = SimServerConfig(speculative_config={"method": "ngram", "num_speculative_tokens": 5})
    argv = SimKind().plan(ModelConfig(), cfg, 1, tmp_path).argv
    assert argv[argv.index("--num-speculative-tokens") + 1] == "5"
    cfg = SimServerConfig(speculative_config={"num_speculative_tokens": 2, "acceptance_rate": 0.5})
    argv = SimKind().plan(ModelConfig(), cfg, 1, tmp_path).argv
    assert argv[argv.index("--spec-acceptance-rate") + 1] == "0.5"
    with pytest.raises(ConfigError, match=r"server\.speculative_config"):
        SimKind().plan(
            ModelConfig(), SimServerConfig(speculative_config={"method": "ngram"}), 1, tmp_path
        )
