from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sweeper.telemetry.scrape import COLUMNS, MetricsScraper, parse
from sweeper.telemetry.server_figures import summarize

REAL = (Path(__file__).parent / "data" / "vllm-0.32.0-metrics.txt").read_text()


class FakeVllm:
    """Serves vLLM-named metrics whose counters grow by a known step per scrape."""

    def __init__(self) -> None:
        self.n = 0
        self.threads: set[int] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.threads.add(threading.get_ident())
                body = fake.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"

    def render(self) -> str:
        n = self.n
        self.n += 1
        lines = []
        for engine in ("0", "1"):
            lab = f'{{engine="{engine}",model_name="m"}}'
            lines += [
                f"vllm:prefix_cache_queries_total{lab} {100 * n}",
                f"vllm:prefix_cache_hits_total{lab} {25 * n}",
                f"vllm:prefix_cache_hits_created{lab} 1.7e9",
                f"vllm:num_preemptions_total{lab} {n}",
                f"vllm:kv_cache_usage_perc{lab} {min(n, 4) / 10}",
                f"vllm:num_requests_waiting{lab} {n % 3}",
            ]
        lines.append("# TYPE process_cpu_seconds_total counter")
        lines.append(f"process_cpu_seconds_total {n}")
        return "\n".join(lines) + "\n"


@pytest.fixture
def fake() -> Iterator[FakeVllm]:
    f = FakeVllm()
    t = threading.Thread(target=f.server.serve_forever, daemon=True)
    t.start()
    yield f
    f.server.shutdown()
    f.server.server_close()


def test_scrapes_in_its_own_thread_and_returns_long_frame(fake: FakeVllm) -> None:
    scraper = MetricsScraper(fake.url, interval_s=0.05)
    scraper.start()
    time.sleep(0.4)
    df = scraper.stop()
    assert list(df.columns) == COLUMNS
    assert not any(t.name == "metrics-scraper" for t in threading.enumerate())
    scrapes = df["t_ns"].nunique()
    assert scrapes >= 4 and scrapes == scraper.stats.scrapes == fake.n
    assert df["t_ns"].is_monotonic_increasing
    assert set(df["name"]) == {
        "vllm:prefix_cache_queries_total",
        "vllm:prefix_cache_hits_total",
        "vllm:num_preemptions_total",
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_waiting",
    }  # other prefixes and `_created` dropped
    assert {json.loads(x)["engine"] for x in df["labels"]} == {"0", "1"}
    assert scraper.stats.errors == 0


def test_summary_from_fake_series(fake: FakeVllm) -> None:
    scraper = MetricsScraper(fake.url, interval_s=0.05)
    scraper.start()
    time.sleep(0.3)
    df = scraper.stop()
    last = fake.n - 1  # counters at the first scrape are 0, at the last `last * step`
    s = summarize(df)
    assert s["server_prefix_cache_queries"] == 2 * 100 * last
    assert s["server_prefix_cache_hits"] == 2 * 25 * last
    assert s["server_prefix_cache_hit_rate"] == pytest.approx(0.25)
    assert s["server_num_preemptions"] == 2 * last
    assert s["server_max_kv_cache_usage"] == pytest.approx(2 * min(last, 4) / 10)
    assert s["server_max_num_requests_waiting"] == 4  # n % 3 == 2 on both engines
    assert "server_spec_decode_acceptance_rate" not in s


def test_unreachable_server_is_not_an_error() -> None:
    scraper = MetricsScraper("http://127.0.0.1:9/metrics", interval_s=0.05, timeout_s=0.5)
    scraper.start()
    time.sleep(0.15)
    df = scraper.stop()
    assert df.empty and list(df.columns) == COLUMNS
    assert scraper.stats.errors >= 2 and scraper.stats.scrapes == 0
    assert scraper.stats.last_error is not None
    assert summarize(df) == {}


def test_bad_interval() -> None:
    with pytest.raises(ValueError, match="metrics_interval_s"):
        MetricsScraper("http://127.0.0.1:9/metrics", interval_s=0)


def test_parses_real_vllm_output() -> None:
    rows = parse(MetricsScraper("http://x/metrics")._keep(REAL), 1)
    names = {r[1] for r in rows}
    assert "vllm:kv_cache_usage_perc" in names
    assert "vllm:prefix_cache_queries_total" in names
    assert "vllm:time_to_first_token_seconds_sum" in names
    assert "vllm:time_to_first_token_seconds_bucket" not in names  # buckets off by default
    assert not any(n.endswith("_created") or not n.startswith("vllm:") for n in names)
    with_buckets = parse(MetricsScraper("http://x/metrics", keep_buckets=True)._keep(REAL), 1)
    buckets = [r for r in with_buckets if r[1] == "vllm:time_to_first_token_seconds_bucket"]
    assert json.loads(buckets[-1][2])["le"] == "+Inf"
    everything = parse(MetricsScraper("http://x/metrics", prefixes=("",))._keep(REAL), 1)
    assert "process_cpu_seconds_total" in {r[1] for r in everything}
    queries = [r for r in rows if r[1] == "vllm:prefix_cache_queries_total"]
    assert [json.loads(r[2]) for r in queries] == [{"engine": "0", "model_name": "tiny-random"}]
    assert queries[0][3] == 5.0


def test_spec_decode_and_old_names() -> None:
    import pandas as pd

    def rows(t: int, acc: float, draft: float, drafts: float, usage: float) -> list[tuple]:
        return [
            (t, "vllm:spec_decode_num_accepted_tokens_total", "{}", acc),
            (t, "vllm:spec_decode_num_draft_tokens_total", "{}", draft),
            (t, "vllm:spec_decode_num_drafts_total", "{}", drafts),
            (t, "vllm:gpu_cache_usage_perc", "{}", usage),
        ]

    df = pd.DataFrame(rows(1, 10, 30, 10, 0.2) + rows(2, 40, 90, 30, 0.7), columns=COLUMNS)
    s = summarize(df)
    assert s["server_spec_decode_acceptance_rate"] == pytest.approx(30 / 60)
    assert s["server_spec_decode_mean_acceptance_length"] == pytest.approx(1 + 30 / 20)
    assert s["server_max_kv_cache_usage"] == pytest.approx(0.7)
