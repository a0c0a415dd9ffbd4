"""A job's time series as MLflow step metrics: the client's per-second frame, and the scraped
/metrics reduced to the last value per metric and second, summed over label sets."""

from __future__ import annotations

import math

import pandas as pd

from sweeper.job.outcome import Outcome
from sweeper.tracking.mlflow_client import Point
from sweeper.tracking.step_metrics import client_points, job_series, server_points

S = 1_000_000_000  # ns per second


def test_client_points_one_per_column_and_second_finite_only() -> None:
    series = pd.DataFrame(
        {"completed": [1, 3, 6], "output_tokens_per_s": [10.0, math.nan, 30.0]}, index=[0, 1, 2]
    )
    assert list(client_points(series)) == [
        Point("ts.completed", 0, 1.0),
        Point("ts.completed", 1, 3.0),
        Point("ts.completed", 2, 6.0),
        Point("ts.output_tokens_per_s", 0, 10.0),
        Point("ts.output_tokens_per_s", 2, 30.0),
    ]


def scraped(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_ns", "name", "labels", "value"])


def test_server_points_last_per_second_summed_over_label_sets() -> None:
    t0 = 5 * S
    frame = scraped(
        [
            # two engines, two samples in second 0: the later sample's sum is kept
            (t0, "vllm:num_requests_running", "engine=0", 1.0),
            (t0, "vllm:num_requests_running", "engine=1", 2.0),
            (t0 + S // 2, "vllm:num_requests_running", "engine=0", 4.0),
            (t0 + S // 2, "vllm:num_requests_running", "engine=1", 5.0),
            (t0 + S + 1, "vllm:num_requests_running", "engine=0", 7.0),
            # counters lose `_total`; histogram parts are dropped
            (t0, "vllm:prompt_tokens_total", "", 100.0),
            (t0, "vllm:e2e_request_latency_seconds_bucket", "le=1", 3.0),
            (t0, "vllm:e2e_request_latency_seconds_count", "", 3.0),
            (t0, "vllm:cache_config_info", "", 1.0),
        ]
    )
    assert sorted(server_points(frame), key=lambda p: (p.key, p.step)) == [
        Point("server.num_requests_running", 0, 9.0),
        Point("server.num_requests_running", 1, 7.0),
        Point("server.prompt_tokens", 0, 100.0),
    ]


def test_server_points_of_only_skipped_metrics_is_empty() -> None:
    frame = scraped([(S, "vllm:time_to_first_token_seconds_sum", "", 1.0)])
    assert list(server_points(frame)) == []


def test_job_series_joins_both_and_tolerates_none() -> None:
    assert job_series(Outcome()) == []
    outcome = Outcome(
        series=pd.DataFrame({"completed": [2]}, index=[0]),
        server_metrics=scraped([(S, "vllm:num_requests_waiting", "", 3.0)]),
    )
    assert job_series(outcome) == [
        Point("ts.completed", 0, 2.0),
        Point("server.num_requests_waiting", 0, 3.0),
    ]
