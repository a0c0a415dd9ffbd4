"""Simulator parameters and the named profiles.

`SimParams` is the single list of the simulator's knobs: the command line (`launchers.sim.cli`)
derives one option per field from it, and `launchers.kinds.sim.SimServerConfig` mirrors the same
names (a unit test keeps the two in sync).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SimParams:
    # --- scheduler (vLLM V1 names) ---
    max_num_seqs: int = 256
    # one token budget per step shared by chunked prefill and decode
    max_num_batched_tokens: int = 8192
    block_size: int = 16
    num_gpu_blocks: int = 27_000
    enable_prefix_caching: bool = True
    max_model_len: int = 8192
    # "fcfs" (vLLM's default) or "priority" (lower `priority` value first; requests may set it)
    scheduling_policy: str = "fcfs"
    # speculative decoding (launchers.sim.spec_decode): draft tokens verified per decode step
    # (0 = off), each accepted with this probability until the first rejection
    num_speculative_tokens: int = 0
    spec_acceptance_rate: float = 0.7
    # --- cost model: step time = overhead + prefill + decode + KV read (milliseconds) ---
    step_overhead_ms: float = 6.0
    prefill_ms_per_token: float = 0.03
    decode_ms_per_seq: float = 0.03
    kv_read_ms_per_token: float = 0.00004
    # relative standard deviation of a seeded gaussian factor on each step time (0 = none)
    jitter: float = 0.0
    seed: int = 0
    # --- outputs ---
    # mean output length when neither max_tokens nor ignore_eos fixes it (geometric draw)
    output_len_mean: int = 128
    # tokens per SSE chunk (vLLM streams one token per chunk; >1 exercises multi-token chunks)
    tokens_per_chunk: int = 1
    # text of one generated token, so clients can count tokens from text
    output_token_text: str = " tok"
    # chat: the first N output tokens of every response are reasoning (streamed as vLLM's
    # `reasoning` deltas, then `content`); 0 = no reasoning phase
    reasoning_tokens: int = 0
    # usage.prompt_tokens_details.cached_tokens in final usage (vLLM's
    # --enable-prompt-tokens-details)
    enable_prompt_tokens_details: bool = False
    # --- fault injection (fractions of requests; 0 = off) ---
    fail_500_rate: float = 0.0
    fail_429_rate: float = 0.0
    # streams closed abruptly after a random number of chunks
    cut_stream_rate: float = 0.0
    # streams that stop sending for `stall_s` seconds once, mid-response
    stall_rate: float = 0.0
    stall_s: float = 1.0
    # exit the process (code 70, no ground truth) on receiving request number N+1 (0 = never)
    crash_after: int = 0
    # /health answers 503 for this many seconds after start
    slow_start_s: float = 0.0


# `default`: meant to resemble Llama-3.1-8B-Instruct (bf16) served by vLLM V1 on one H100-80GB.
# Calibration (reasoned from published figures, not measured here):
# - decode at batch 1 is memory bound: 16 GB of weights / 3.35 TB/s HBM3 ≈ 4.8 ms; vLLM's
#   published H100 runs of Llama-3-8B report a TPOT of about 6-7 ms at concurrency 1
#   (vLLM v0.6.0 performance blog, Sept 2024) → step_overhead_ms = 6.0.
# - prefill is compute bound: ≈ 2 × 8e9 FLOP per token at ~550 TFLOP/s effective bf16 (≈ 55 %
#   of the 989 TFLOP/s dense peak) ≈ 0.03 ms per token → a 1k-token prompt ≈ 36 ms TTFT.
# - each extra decode sequence adds sampling/attention-launch work ≈ 0.03 ms, so a 256-seq batch
#   runs ≈ 15-20 ms per step, ~13-15k output tok/s, in line with published saturation
#   throughput of 8B models on one H100 (≈ 10-15k output tok/s).
# - KV read: 128 KiB of KV per token (32 layers × 8 KV heads × 128 dims × 2 (K,V) × 2 bytes)
#   at 3.35 TB/s ≈ 0.04 µs per context token per step.
# - KV pool: (80 GiB × 0.9 − 16 GiB weights − ~4 GiB activations) / 128 KiB per token
#   ≈ 430k tokens ≈ 27,000 blocks of 16; max_num_seqs 256 (vLLM's long-standing default),
#   max_num_batched_tokens 8192 (vLLM V1's default for the API server on H100-class GPUs).
DEFAULT = SimParams()

# `fast`: the same mechanics on a short clock, for tests. A 40-request sweep at concurrency
# 1/8/32 with 256-in / 128-out runs in a few seconds. The per-sequence cost stays well above
# what one CPU core needs to emit a streamed token (~25 µs measured on a 2-core VM, mostly the
# socket send), so the simulator keeps its deadlines even with thousands of open streams.
FAST = replace(
    DEFAULT,
    num_gpu_blocks=20_000,
    step_overhead_ms=0.3,
    prefill_ms_per_token=0.002,
    decode_ms_per_seq=0.1,
    kv_read_ms_per_token=0.0,
)

PROFILES: dict[str, SimParams] = {"default": DEFAULT, "fast": FAST}


def param_fields() -> dict[str, type]:
    """Name → Python type (int, float, bool or str) of every SimParams field."""
    kinds = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: kinds[str(f.type)] for f in fields(SimParams)}


def resolve(profile: str, overrides: dict[str, Any]) -> SimParams:
    """The profile's parameters with every non-None override applied; checks ranges."""
    if profile not in PROFILES:
        raise ValueError(f"--profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    known = param_fields()
    for key in overrides:
        if key not in known:
            raise ValueError(f"unknown simulator option {key!r}")
    params = replace(PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None})
    check(params)
    return params


def check(p: SimParams) -> None:
    """One-line ValueError naming the first out-of-range field."""
    _check_ranges(p)
    _check_consistency(p)


def _check_ranges(p: SimParams) -> None:
    """Each field on its own: counts >= 1, times and costs >= 0, rates in [0, 1]."""
    positive = ("max_num_seqs", "max_num_batched_tokens", "block_size", "num_gpu_blocks")
    for name in (*positive, "max_model_len", "tokens_per_chunk", "output_len_mean"):
        if getattr(p, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(p, name)}")
    non_negative = (
        "step_overhead_ms",
        "prefill_ms_per_token",
        "decode_ms_per_seq",
        "kv_read_ms_per_token",
        "jitter",
        "stall_s",
        "crash_after",
        "slow_start_s",
        "reasoning_tokens",
    )
    for name in non_negative:
        if getattr(p, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(p, name)}")
    if p.num_speculative_tokens < 0:
        raise ValueError(f"--num-speculative-tokens must be >= 0, got {p.num_speculative_tokens}")
    rates = ("fail_500_rate", "fail_429_rate", "cut_stream_rate", "stall_rate")
    for name in (*rates, "spec_acceptance_rate"):
        if not 0.0 <= getattr(p, name) <= 1.0:
            raise ValueError(
                f"--{name.replace('_', '-')} must be in [0, 1], got {getattr(p, name)}"
            )


def _check_consistency(p: SimParams) -> None:
    """Fields that constrain each other, a step that takes time, a known scheduling policy."""
    if p.fail_500_rate + p.fail_429_rate > 1.0:
        raise ValueError("--fail-500-rate + --fail-429-rate must be <= 1")
    if p.step_overhead_ms <= 0:
        raise ValueError("--step-overhead-ms must be > 0 (a step always takes time)")
    if p.scheduling_policy not in ("fcfs", "priority"):
        raise ValueError(
            f"--scheduling-policy must be fcfs or priority, got {p.scheduling_policy!r}"
        )
    if p.max_model_len > p.num_gpu_blocks * p.block_size:
        raise ValueError(
            f"--max-model-len ({p.max_model_len}) is larger than the KV cache "
            f"({p.num_gpu_blocks} blocks × {p.block_size} tokens); raise --num-gpu-blocks"
        )
    if p.max_num_batched_tokens < p.max_num_seqs:
        raise ValueError(
            f"--max-num-batched-tokens ({p.max_num_batched_tokens}) must be >= "
            f"--max-num-seqs ({p.max_num_seqs})"
        )
