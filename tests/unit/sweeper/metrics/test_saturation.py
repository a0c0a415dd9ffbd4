"""Saturation signals on synthetic jobs: a small queue model (c servers, fixed service time)
fed by Poisson arrivals below and above its capacity, a closed loop with a held queue, noise,
and jobs too short to judge."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sweeper.metrics.saturation import (
    JobSeries,
    SaturationConfig,
    assess,
    counter_verdict,
    waiting_from_text,
)
from sweeper.metrics.trend import mann_kendall_z, theil_sen, trend, window_medians

NS = 1e9


def queue_job(rate: float, n: int, servers: int = 8, service_s: float = 0.8, seed: int = 0,
              scrape_s: float = 1.0) -> JobSeries:  # fmt: skip
    """n Poisson arrivals at `rate`/s into `servers` parallel slots of `service_s` each (FIFO);
    the first token comes 10 ms after a request starts; the waiting queue is scraped."""
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(1 / rate, n)) + 1.0
    free = [0.0] * servers
    start = np.empty(n)
    for i, t in enumerate(arrive):
        start[i] = max(t, heapq.heappop(free))
        heapq.heappush(free, start[i] + service_s * rng.uniform(0.9, 1.1))
    end = start + service_s
    scrapes = np.arange(arrive[0], end.max(), scrape_s)
    waiting = np.array([np.sum((arrive <= s) & (start > s)) for s in scrapes], dtype=float)
    return JobSeries(
        dispatch_ns=(arrive * NS).astype(np.int64),
        send_ns=(arrive * NS).astype(np.int64),
        first_ns=((start + 0.01) * NS).astype(np.int64),
        end_ns=(end * NS).astype(np.int64),
        success=np.ones(n, dtype=bool),
        waiting_t_ns=scrapes * NS,
        waiting=waiting,
    )


CFG = SaturationConfig()
CAPACITY = 8 / 0.8  # requests per second of the model above


@pytest.mark.parametrize("seed", range(12))
def test_below_capacity_is_not_saturated_whatever_the_noise(seed: int) -> None:
    verdict = assess(queue_job(0.5 * CAPACITY, 300, seed=seed), 0.5 * CAPACITY, True, CFG)
    assert verdict.saturated is False, verdict.reason
    assert verdict.reason == ""


def test_an_open_loop_with_a_steady_queue_is_not_saturated() -> None:
    job = queue_job(0.8 * CAPACITY, 300)
    job.waiting = np.full(job.waiting.size, 2.0)  # bursts keep a few waiting, no growth
    verdict = assess(job, 0.8 * CAPACITY, True, CFG)
    assert verdict.saturated is False, verdict.reason
    assert verdict.figures["queue_median"] == 2.0


def test_above_capacity_every_client_signal_fires() -> None:
    verdict = assess(queue_job(2 * CAPACITY, 400), 2 * CAPACITY, True, CFG)
    assert verdict.saturated
    for signal in ("rate:", "backlog:", "ttft:", "queue_growth:"):
        assert signal in verdict.reason
    assert verdict.figures["achieved_rate"] == pytest.approx(CAPACITY, rel=0.15)
    assert verdict.figures["backlog_z"] >= CFG.trend_z
    extras = verdict.extras()
    assert extras["saturated"] is True and extras["saturation_reason"] == verdict.reason


def test_closed_loop_is_judged_by_the_held_server_queue() -> None:
    job = queue_job(2 * CAPACITY, 200)
    job.first_ns = job.send_ns + 50_000_000  # a closed loop's steady TTFT: no trend
    job.waiting = np.full(job.waiting.size, 8.0)  # 16 in flight on 8 slots
    held = assess(job, float("inf"), False, CFG)
    assert held.saturated and held.reason.startswith("queue: server queue held a median 8")
    job.waiting = np.zeros(job.waiting.size)
    assert assess(job, float("inf"), False, CFG).saturated is False


def test_short_jobs_are_not_judged_on_trends() -> None:
    job = queue_job(4 * CAPACITY, CFG.min_requests - 1, scrape_s=10.0)
    verdict = assess(job, 4 * CAPACITY, True, CFG)
    assert verdict.saturated is False and "backlog_z" not in verdict.figures
    assert assess(queue_job(4 * CAPACITY, 1), 4 * CAPACITY, True, CFG).saturated is False


def test_trend_statistics_by_hand() -> None:
    x = np.arange(10.0)
    # strictly rising: S = 45, var = 10·9·25/18 = 125, z = (45 - 1) / sqrt(125)
    assert mann_kendall_z(x) == pytest.approx(44 / 125**0.5)
    assert mann_kendall_z(np.ones(10)) == 0.0
    y = 2 * x + 1
    y[3] = 1000.0  # one outlier does not move the median slope
    assert theil_sen(x, y) == pytest.approx(2.0)
    tr = trend(x, y)
    assert tr.start == pytest.approx(1.0) and tr.rise == pytest.approx(18.0)
    centres, medians = window_medians(x, y, 5, 0.0, 10.0)
    assert centres.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0] and medians[0] == pytest.approx(2.0)


def test_counter_verdict_on_per_second_samples() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(30) * NS
    flat = 20 + rng.normal(0, 3, 30)
    none = np.zeros(0)
    assert counter_verdict(t, flat, none, none, True, CFG) == ""
    rising = 20 + 10 * np.arange(30) + rng.normal(0, 3, 30)
    assert counter_verdict(t, rising, none, none, True, CFG).startswith("backlog grew")
    held = np.full(5, 3.0)
    assert counter_verdict(t, flat, t[:5], held, False, CFG).startswith("server queue held")
    assert counter_verdict(t, flat, t[:5], np.zeros(5), False, CFG) == ""


def test_waiting_queue_from_metrics_text_sums_label_sets() -> None:
    text = (
        "# HELP vllm:num_requests_waiting Number of requests waiting 7\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        'vllm:num_requests_waiting{engine="0"} 3.0\n'
        'vllm:num_requests_waiting{engine="1"} 2.0\n'
        "vllm:num_requests_waiting_by_reason 9.0\n"
    )
    assert waiting_from_text(text) == 5.0
    assert waiting_from_text("vllm:num_requests_running 4.0\n") is None
