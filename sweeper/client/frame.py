"""Per-request records as a DataFrame (the job writes it as `requests.parquet`)."""

from __future__ import annotations

import pandas as pd

from sweeper.metrics.per_request import e2el_ms, itls_ms, tpot_ms, ttft_ms
from sweeper.metrics.reasoning import first_answer_ms, reasoning_tokens
from sweeper.records import RequestRecord

COLUMNS = [
    "index",
    "request_id",
    "warmup",
    "prompt_len",
    "server_prompt_len",
    "expected_output_len",
    "output_len",
    "success",
    "error",
    "http_status",
    "ttft_ms",
    "tpot_ms",
    "e2el_ms",
    "queue_ms",
    "lateness_ms",
    "t_scheduled_ns",
    "t_dispatch_ns",
    "t_post_ns",
    "t_send_ns",
    "t_first_token_ns",
    "t_end_ns",
    "itl_ms",
    "chunk_times_ns",
    "chunk_tokens",
    "exact_chunk_tokens",
    # sessions ("" / -1 for single-shot requests) and the server's cached prompt tokens
    "session_id",
    "turn",
    "sub",
    "server_cached_tokens",
    # reasoning: tokens before the answer, time to the first answer token
    "reasoning_tokens",
    "ttfa_ms",
]


def records_frame(records: list[RequestRecord]) -> pd.DataFrame:
    """One row per request; latencies NaN where undefined (failed, no token); lists per row."""
    nan = float("nan")
    rows = []
    for r in records:
        has_token = bool(r.chunk_times_ns)
        tpot = tpot_ms(r) if r.success else None
        rows.append(
            {
                "index": r.index,
                "request_id": r.request_id,
                "warmup": r.warmup,
                "prompt_len": r.prompt_len,
                "server_prompt_len": r.server_prompt_len,
                "expected_output_len": r.expected_output_len,
                "output_len": r.output_len,
                "success": r.success,
                "error": r.error,
                "http_status": r.http_status,
                "ttft_ms": ttft_ms(r) if has_token else nan,
                "tpot_ms": tpot if tpot is not None else nan,
                "e2el_ms": e2el_ms(r) if r.success else nan,
                "queue_ms": r.queue_ms,
                "lateness_ms": r.lateness_ms,
                "t_scheduled_ns": r.t_scheduled_ns,
                "t_dispatch_ns": r.t_dispatch_ns,
                "t_post_ns": r.t_post_ns,
                "t_send_ns": r.t_send_ns,
                "t_first_token_ns": r.t_first_token_ns,
                "t_end_ns": r.t_end_ns,
                "itl_ms": itls_ms(r).tolist(),
                "chunk_times_ns": list(r.chunk_times_ns),
                "chunk_tokens": list(r.chunk_tokens),
                "exact_chunk_tokens": r.exact_chunk_tokens,
                "session_id": r.session_id,
                "turn": r.turn,
                "sub": r.sub,
                "server_cached_tokens": r.server_cached_tokens,
                "reasoning_tokens": reasoning_tokens(r),
                "ttfa_ms": ttfa if has_token and (ttfa := first_answer_ms(r)) is not None else nan,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["expected_output_len"] = frame["expected_output_len"].astype("Int64")
    frame["http_status"] = frame["http_status"].astype("Int64")
    frame["server_prompt_len"] = frame["server_prompt_len"].astype("Int64")
    frame["server_cached_tokens"] = frame["server_cached_tokens"].astype("Int64")
    for label in sorted({k for r in records for k in r.labels}):
        frame[f"label.{label}"] = [r.labels.get(label) for r in records]
    return frame
