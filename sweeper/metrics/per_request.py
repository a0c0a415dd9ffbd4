"""Per-request latencies from a RequestRecord's timestamps (the formulas of vLLM's bench serve).

- TTFT = first content event - send.   E2EL = last content event - send.
- TPOT = (E2EL - TTFT) / (output_len - 1), only when output_len > 1.
- ITL is per token: a chunk that carried k tokens after a gap g since the previous content chunk
  contributes k values g/k; extra tokens of the first chunk contribute k-1 zeros (they arrived
  with the first token). So a request has output_len - 1 ITLs whose sum is E2EL - TTFT and whose
  mean is its TPOT. When the server did not report per-chunk token counts every chunk counts as
  one token (then ITL is per chunk, like vLLM's).
"""

from __future__ import annotations

import numpy as np

from sweeper.records import RequestRecord


def ttft_ms(rec: RequestRecord) -> float:
    return (rec.t_first_token_ns - rec.t_send_ns) / 1e6


def e2el_ms(rec: RequestRecord) -> float:
    return (rec.t_end_ns - rec.t_send_ns) / 1e6


def tpot_ms(rec: RequestRecord) -> float | None:
    """None when the request produced at most one token (vLLM leaves it out of TPOT stats)."""
    if rec.output_len <= 1:
        return None
    return (e2el_ms(rec) - ttft_ms(rec)) / (rec.output_len - 1)


def itls_ms(rec: RequestRecord) -> np.ndarray:
    times = rec.chunk_times_ns
    if not times:
        return np.zeros(0)
    tokens = np.asarray(rec.chunk_tokens, dtype=np.int64)
    lead = np.zeros(max(int(tokens[0]) - 1, 0))
    if len(times) == 1:
        return lead
    gaps = np.diff(np.asarray(times, dtype=np.int64)) / 1e6
    rest = tokens[1:]
    return np.concatenate([lead, np.repeat(gaps / rest, rest)])
