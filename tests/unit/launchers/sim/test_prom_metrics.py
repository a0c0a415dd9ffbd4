"""/metrics text: parses with prometheus_client, vLLM names and buckets, counters agree."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families

from launchers.sim.profiles import FAST
from launchers.sim.prom_metrics import TTFT_BUCKETS, SimMetrics, buckets_1_2_5
from launchers.sim.scheduler import Scheduler, SimRequest


def test_exposition_parses_and_counts() -> None:
    s = Scheduler(replace(FAST, max_num_seqs=4))
    m = SimMetrics(s, "my-model", "fast")
    reqs = [SimRequest(str(i), 20, 5, "length", arrival_ns=0) for i in range(6)]
    for r in reqs:
        s.add(r)
    now = 0
    while s.has_work():
        plan = s.schedule(now)
        now += 10_000_000  # 10 ms steps
        s.finish_step(plan, now)
    families = {f.name: f for f in text_string_to_metric_families(m.render())}
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens",
        "vllm:generation_tokens",
        "vllm:request_success",
        "vllm:num_preemptions",
        "vllm:prefix_cache_queries",
        "vllm:prefix_cache_hits",
        "vllm:time_to_first_token_seconds",
        "vllm:inter_token_latency_seconds",
        "vllm:e2e_request_latency_seconds",
        "vllm:request_queue_time_seconds",
        "sim_info",
    ):
        assert name in families, name

    def value(family: str, sample: str, **labels: str) -> float:
        for s_ in families[family].samples:
            if s_.name == sample and all(s_.labels.get(k) == v for k, v in labels.items()):
                return s_.value
        raise KeyError(sample)

    assert value("vllm:generation_tokens", "vllm:generation_tokens_total") == 30
    assert value("vllm:prompt_tokens", "vllm:prompt_tokens_total") == 120
    assert (
        value("vllm:request_success", "vllm:request_success_total", finished_reason="length") == 6
    )
    ttft = "vllm:time_to_first_token_seconds"
    assert value(ttft, ttft + "_count") == 6
    buckets = [s_ for s_ in families[ttft].samples if s_.name == ttft + "_bucket"]
    assert [float(b.labels["le"]) for b in buckets[:-1]] == list(TTFT_BUCKETS)
    # 4 requests got their first token after one 10 ms step, 2 waited a batch: le=0.01 holds 4
    assert value(ttft, ttft + "_bucket", le="0.01") == 4
    itl = "vllm:inter_token_latency_seconds"
    assert value(itl, itl + "_count") == 24
    assert value("sim_info", "sim_info", simulated="true", model_name="my-model") == 1
    gen = "vllm:request_generation_tokens"
    assert value(gen, gen + "_count") == 6 and value(gen, gen + "_sum") == 30
    prefill = "vllm:request_prefill_time_seconds"
    assert value(prefill, prefill + "_count") == 6
    step = "vllm:iteration_tokens_total"
    assert value(step, step + "_count") == s.stats.steps
    assert value(step, step + "_sum") == 6 * 20 + 6 * 4  # prompts, then one token per decode
    info = "vllm:cache_config_info"
    assert value(info, info, block_size="16", num_gpu_blocks=str(FAST.num_gpu_blocks)) == 1


def test_token_count_buckets() -> None:
    assert buckets_1_2_5(100) == (1, 2, 5, 10, 20, 50, 100)
