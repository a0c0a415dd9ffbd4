"""One real vLLM server on CPU through the pool: ready, streamed completions with exact token
counts, prefix-cache reset between reused jobs, /metrics scraping, clean stop. It runs with
n-gram speculative decoding so the spec-decode metrics are exercised too (the sweep tests
cover the plain configuration)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tokenizers import Tokenizer

from launchers.config import ModelConfig
from launchers.kinds.vllm import VllmServerConfig
from launchers.pool import Lease, ServerPool
from launchers.process import group_members
from sweeper.telemetry.scrape import MetricsScraper
from sweeper.telemetry.server_figures import summarize
from tests.integration.vllm.openai_http import get, metric_total, stream

pytestmark = pytest.mark.vllm


class Served:
    def __init__(self, pool: ServerPool, lease: Lease, cfg: VllmServerConfig, model: ModelConfig):
        self.pool, self.lease, self.cfg, self.model = pool, lease, cfg, model
        self.url = lease.base_url
        assert model.tokenizer is not None
        self.tokenizer = Tokenizer.from_file(str(Path(model.tokenizer) / "tokenizer.json"))


@pytest.fixture(scope="module")
def served(
    vllm_python: str, tiny_model: ModelConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    pool = ServerPool()
    cfg = VllmServerConfig(
        executable=vllm_python,
        cpu_kvcache_space_gib=1,
        max_num_seqs=8,
        speculative_config={"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 3},
    )
    t0 = time.monotonic()
    lease = pool.acquire(tiny_model, cfg, tmp_path_factory.mktemp("vllm"))
    print(f"\n[vllm] /health and /v1/models ready in {time.monotonic() - t0:.1f} s")
    try:
        yield Served(pool, lease, cfg, tiny_model)
    finally:
        pool.close()


def test_ready_lists_served_model_and_runs_in_own_group(served: Served) -> None:
    models = json.loads(get(served.url + "/v1/models"))
    assert [m["id"] for m in models["data"]] == ["tiny-random"]
    assert served.url.startswith("http://127.0.0.1:")
    pid = served.lease.pid
    assert pid is not None and psutil.Process(pid).is_running()
    assert len(group_members(pid)) >= 2  # API server + engine core, all in the server's group
    assert served.lease.log_path is not None and served.lease.log_path.stat().st_size > 0


@pytest.mark.parametrize("max_tokens", [1, 7, 48])
def test_streamed_completion_has_exact_token_counts(served: Served, max_tokens: int) -> None:
    prompt = "The prefix cache of the server keeps batch decode tokens"
    chunks, usage = stream(
        served.url + "/v1/completions",
        {"model": "tiny-random", "prompt": prompt, "max_tokens": max_tokens, "ignore_eos": True},
    )
    assert usage["completion_tokens"] == max_tokens
    # the client's tokenizer (generated files) counts the prompt exactly as the server does
    assert usage["prompt_tokens"] == len(served.tokenizer.encode(prompt).ids)
    assert chunks[-1]["finish_reason"] == "length"
    assert 1 <= len(chunks) <= max_tokens


def test_streamed_chat_completion(served: Served) -> None:
    chunks, usage = stream(
        served.url + "/v1/chat/completions",
        {
            "model": "tiny-random",
            "messages": [{"role": "user", "content": "hello model"}],
            "max_tokens": 12,
            "ignore_eos": True,
        },
    )
    assert usage["completion_tokens"] == 12
    rendered = "<|begin_of_text|><|user|>\nhello model<|end_of_text|>\n<|assistant|>\n"
    assert usage["prompt_tokens"] == len(served.tokenizer.encode(rendered).ids)
    assert chunks[-1]["finish_reason"] == "length"


def test_reused_server_has_its_prefix_cache_reset(served: Served, tmp_path: Path) -> None:
    words = ["server", "benchmark", "latency", "throughput", "prefix", "cache", "batch", "decode"]
    prompt = " ".join(words[i % len(words)] + str(i) for i in range(400))
    body = {"model": "tiny-random", "prompt": prompt, "max_tokens": 2, "ignore_eos": True}

    def hits_of_one_request() -> float:
        before = metric_total(served.url, "vllm:prefix_cache_hits_total")
        stream(served.url + "/v1/completions", body)
        return metric_total(served.url, "vllm:prefix_cache_hits_total") - before

    hits_of_one_request()
    assert hits_of_one_request() > 0, "the repeated prompt should hit the prefix cache"
    lease = served.pool.acquire(served.model, served.cfg, tmp_path)  # next job, same server
    assert lease.reused and lease.pid == served.lease.pid and served.pool.starts == 1
    assert hits_of_one_request() == 0, "the pool's reset emptied the prefix cache"


def test_scraper_reads_real_vllm_metrics(served: Served) -> None:
    scraper = MetricsScraper(served.url + "/metrics", interval_s=0.2)
    scraper.start()
    for n in (16, 16, 16):
        stream(
            served.url + "/v1/completions",
            {"model": "tiny-random", "prompt": "hello " * 20, "max_tokens": n, "ignore_eos": True},
        )
    df = scraper.stop()
    assert scraper.stats.errors == 0 and scraper.stats.scrapes >= 2
    assert df["name"].str.startswith("vllm:").all()
    s = summarize(df)
    assert s["server_prefix_cache_queries"] >= 3 * 20
    assert 0 <= s["server_max_kv_cache_usage"] <= 1
    assert s["server_num_preemptions"] == 0
    generated = df[df["name"] == "vllm:generation_tokens_total"].groupby("t_ns")["value"].sum()
    assert generated.iloc[-1] - generated.iloc[0] == 48


def test_spec_decode_acceptance_from_real_metrics(served: Served) -> None:
    scraper = MetricsScraper(served.url + "/metrics", interval_s=0.5)
    scraper.start()
    body = {"prompt": "a b c " * 40, "max_tokens": 64, "ignore_eos": True, "temperature": 0}
    _, usage = stream(served.url + "/v1/completions", {"model": "tiny-random", **body})
    s = summarize(scraper.stop())
    assert usage["completion_tokens"] == 64  # drafts never change the exact count
    assert 0 < s["server_spec_decode_acceptance_rate"] <= 1
    assert 1 < s["server_spec_decode_mean_acceptance_length"] <= 1 + 3


def test_stop_empties_the_process_group(served: Served) -> None:
    pid = served.lease.pid
    assert pid is not None
    members = group_members(pid)
    t0 = time.monotonic()
    served.pool.close()
    print(f"\n[vllm] stopped, group of {len(members)} empty in {time.monotonic() - t0:.1f} s")
    assert group_members(pid) == []
    assert all(_gone(p) for p in members)


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its new parent, pid 1, to reap it counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
