"""Typed server configuration, one dataclass per server kind.

These are the schemas of the `server` config group (registered by `sweeper.schema` as
`base_server_<kind>`). Launchers take these dataclasses, never a DictConfig.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelConfig:
    """What is served. `name` is the served model name the client asks for."""

    name: str = "sim-model"
    # local folder or hub id handed to the server (vLLM's --model); None for the simulator
    path: str | None = None
    # local tokenizer folder (or hub id) for exact token counts; None = server-side estimate
    tokenizer: str | None = None
    # a generator that materialises `path`/`tokenizer` locally on first use (e.g. "tiny-random")
    generate: str | None = None
    max_model_len: int | None = None


@dataclass
class ServerConfig:
    """Fields every server kind shares."""

    kind: str = "external"
    host: str = "127.0.0.1"
    # None = a free port chosen at start
    port: int | None = None
    health_path: str = "/health"
    ready_timeout_s: float = 120.0
    # SIGTERM, then SIGKILL of the process group after this many seconds
    stop_timeout_s: float = 15.0
    env: dict[str, str] = field(default_factory=dict)
    # CPUs a started server runs on, a Linux CPU list ("1", "0,2-3"): a load generator on the
    # others never waits for the server's core (nor it for the client's). None: wherever the OS
    # puts it. Not for server=external (sweeper does not start it)
    cpus: str | None = None
    # reset the prefix cache between jobs that reuse this server
    reset_prefix_cache: bool = True
    # scrape GET /metrics every this many seconds during a job (0 = off)
    metrics_interval_s: float = 1.0


@dataclass
class ExternalServerConfig(ServerConfig):
    """An already running endpoint: no lifecycle."""

    kind: str = "external"
    base_url: str = "http://127.0.0.1:8000"
    # an endpoint that is already up answers at once; don't wait long for one that isn't
    ready_timeout_s: float = 5.0
    reset_prefix_cache: bool = False


@dataclass
class CommandServerConfig(ServerConfig):
    """Any server command. `{port}`, `{host}` and `{model}` / `{model_path}` are substituted in
    each argv element (whole-string format fields only; no shell is involved)."""

    kind: str = "command"
    argv: list[str] = field(default_factory=list)
    # base URL template; `{host}` and `{port}` substituted
    base_url: str = "http://{host}:{port}"


@dataclass
class SimServerConfig(ServerConfig):
    """The built-in simulator (`python -m launchers.sim`). Every field left None takes the
    profile's value; the launcher passes each set field as `--<field-with-dashes> VALUE`."""

    kind: str = "sim"
    profile: str = "default"
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    block_size: int | None = None
    num_gpu_blocks: int | None = None
    enable_prefix_caching: bool | None = None
    tokens_per_chunk: int | None = None
    step_overhead_ms: float | None = None
    prefill_ms_per_token: float | None = None
    decode_ms_per_seq: float | None = None
    kv_read_ms_per_token: float | None = None
    jitter: float | None = None
    seed: int | None = None
    max_model_len: int | None = None
    # "fcfs" or "priority"
    scheduling_policy: str | None = None
    # vLLM's shape (the same key as server=vllm): the simulator reads num_speculative_tokens and
    # its own acceptance_rate (per draft token, default 0.7); see launchers.sim.spec_decode
    speculative_config: dict[str, Any] | None = None
    # mean of the seeded output length when max_tokens/ignore_eos do not fix it
    output_len_mean: int | None = None
    output_token_text: str | None = None
    # fault injection: fractions of requests answered 500 / 429, streams cut, stalls
    fail_500_rate: float | None = None
    fail_429_rate: float | None = None
    cut_stream_rate: float | None = None
    stall_rate: float | None = None
    stall_s: float | None = None
    # exit (code 70) on request number crash_after + 1
    crash_after: int | None = None
    # /health answers 503 for this many seconds after start
    slow_start_s: float | None = None
    # any further simulator option, passed as --key value (booleans as flags)
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class VllmServerConfig(ServerConfig):
    """`vllm serve` (or `python -m vllm.entrypoints.openai.api_server`)."""

    kind: str = "vllm"
    # the Python interpreter of the environment vLLM lives in
    executable: str = "python"
    dtype: str | None = None
    max_model_len: int | None = None
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None
    data_parallel_size: int | None = None
    gpu_memory_utilization: float | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    enable_prefix_caching: bool | None = None
    enable_chunked_prefill: bool | None = None
    enforce_eager: bool | None = None
    # "fcfs" (vLLM's default) or "priority" (requests' `priority` field, lower first)
    scheduling_policy: str | None = None
    # "auto" (cpu unless an NVIDIA device is visible), "cpu" or "gpu"; on cpu enforce_eager
    # defaults to true and cpu_kvcache_space_gib sets VLLM_CPU_KVCACHE_SPACE (None = vLLM's)
    device: str = "auto"
    cpu_kvcache_space_gib: int | None = None
    speculative_config: dict[str, Any] | None = None
    # the rest of vLLM's CLI: booleans as flags, dicts as JSON
    args: dict[str, Any] = field(default_factory=dict)
    ready_timeout_s: float = 600.0
    api_key_env: str | None = None
