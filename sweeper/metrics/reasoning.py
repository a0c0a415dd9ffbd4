"""Per-request reasoning figures from a RequestRecord (chat `reasoning`/`reasoning_content`
deltas, or think tags; see sweeper.client.backends.openai).

TTFT keeps vLLM's meaning: the first token of any kind (`vllm bench serve` counts reasoning
deltas as tokens). vLLM has no reasoning metrics, so these are sweeper's own names:

- time to first reasoning token = TTFT of a request that reasoned (None otherwise).
- time to first answer token = arrival of the first answer chunk - send; TTFT when the request
  did not reason; None when it reasoned and no answer came (cut by max_tokens).
- reasoning tokens = tokens of the chunks before the first answer chunk (all of the output when
  no answer came); answer tokens = output_len - reasoning tokens.
- reasoning TPOT = (last reasoning chunk - first token) / (reasoning tokens - 1);
  answer TPOT = (E2EL end - first answer chunk) / (answer tokens - 1); None at <= 1 token.
"""

from __future__ import annotations

from sweeper.records import RequestRecord


def reasoning_tokens(rec: RequestRecord) -> int:
    if not rec.reasoning:
        return 0
    if rec.answer_chunk < 0:
        return rec.output_len
    return min(sum(rec.chunk_tokens[: rec.answer_chunk]), rec.output_len)


def answer_tokens(rec: RequestRecord) -> int:
    return rec.output_len - reasoning_tokens(rec)


def first_reasoning_ms(rec: RequestRecord) -> float | None:
    if not rec.reasoning or not rec.chunk_times_ns:
        return None
    return (rec.t_first_token_ns - rec.t_send_ns) / 1e6


def first_answer_ns(rec: RequestRecord) -> int | None:
    if not rec.reasoning:
        return rec.t_first_token_ns if rec.chunk_times_ns else None
    if 0 <= rec.answer_chunk < len(rec.chunk_times_ns):
        return rec.chunk_times_ns[rec.answer_chunk]
    return None


def first_answer_ms(rec: RequestRecord) -> float | None:
    at = first_answer_ns(rec)
    return None if at is None else (at - rec.t_send_ns) / 1e6


def reasoning_tpot_ms(rec: RequestRecord) -> float | None:
    n = reasoning_tokens(rec)
    if n <= 1:
        return None
    last = rec.t_end_ns
    if 0 < rec.answer_chunk <= len(rec.chunk_times_ns):
        last = rec.chunk_times_ns[rec.answer_chunk - 1]
    return (last - rec.t_first_token_ns) / 1e6 / (n - 1)


def answer_tpot_ms(rec: RequestRecord) -> float | None:
    n = answer_tokens(rec)
    start = first_answer_ns(rec)
    if n <= 1 or start is None:
        return None
    return (rec.t_end_ns - start) / 1e6 / (n - 1)
