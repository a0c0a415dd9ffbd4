from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sweeper.client.frame import records_frame
from sweeper.records import RequestRecord


def test_one_row_per_request_with_lists_and_nans(tmp_path: Path) -> None:
    ok = RequestRecord(index=0, request_id="a-0", prompt_len=5, expected_output_len=3)
    ok.t_scheduled_ns = ok.t_dispatch_ns = 100
    ok.t_send_ns = 1_000_000
    ok.chunk_times_ns = [3_000_000, 4_000_000, 6_000_000]
    ok.chunk_tokens = [1, 1, 1]
    ok.t_first_token_ns, ok.t_end_ns = 3_000_000, 6_000_000
    ok.output_len, ok.success = 3, True
    bad = RequestRecord(index=1, request_id="a-1", prompt_len=5, expected_output_len=None)
    bad.error, bad.http_status = "http_500: x", 500
    bad.labels = {"prefix": "2"}
    frame = records_frame([ok, bad])
    assert list(frame["request_id"]) == ["a-0", "a-1"]
    row = frame.iloc[0]
    assert row["ttft_ms"] == 2.0 and row["e2el_ms"] == 5.0 and row["tpot_ms"] == 1.5
    assert list(row["itl_ms"]) == [1.0, 2.0] and list(row["chunk_times_ns"]) == ok.chunk_times_ns
    assert math.isnan(frame.iloc[1]["ttft_ms"]) and math.isnan(frame.iloc[1]["tpot_ms"])
    assert frame.iloc[1]["label.prefix"] == "2" and frame.iloc[1]["http_status"] == 500
    # the job writes it as parquet: lists and nullable ints survive the round trip
    frame.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert list(back.iloc[0]["itl_ms"]) == [1.0, 2.0]
    assert back["expected_output_len"].isna().tolist() == [False, True]
