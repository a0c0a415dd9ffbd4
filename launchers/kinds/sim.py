"""`server=sim`: the built-in simulator, `python -m launchers.sim`.

The limits of `SimServerConfig` mirror the simulator's own range checks
(`launchers.sim.profiles.check`), so a bad value fails before the simulator is started.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from instruments.errors import ConfigError
from instruments.options import option
from launchers.config import ModelConfig, ServerConfig
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind


def _rate(help: str) -> Any:
    """A fraction of requests in [0, 1]; null = the profile's (0)."""
    return option(None, help, ge=0, le=1)


@dataclass
class SimServerConfig(ServerConfig):
    """The built-in simulator (`python -m launchers.sim`). Every field left None takes the
    profile's value; the launcher passes each set field as `--<field-with-dashes> VALUE`."""

    kind: str = option("sim", "the server kind")
    # no choices: an unknown profile reaches the simulator, which exits naming the known ones
    profile: str = option("default", "the simulator's named parameters: default or fast")
    max_num_seqs: int | None = option(None, "sequences scheduled per step at most", ge=1)
    max_num_batched_tokens: int | None = option(
        None, "token budget per step shared by chunked prefill and decode", ge=1
    )
    block_size: int | None = option(None, "tokens per KV cache block", ge=1)
    num_gpu_blocks: int | None = option(None, "KV cache blocks", ge=1)
    enable_prefix_caching: bool | None = option(None, "reuse KV blocks of shared prefixes")
    tokens_per_chunk: int | None = option(None, "tokens per SSE chunk (vLLM streams 1)", ge=1)
    step_overhead_ms: float | None = option(None, "fixed time of every engine step", gt=0)
    prefill_ms_per_token: float | None = option(None, "step time per prefilled token", ge=0)
    decode_ms_per_seq: float | None = option(None, "step time per decoding sequence", ge=0)
    kv_read_ms_per_token: float | None = option(
        None, "step time per context token read from the KV cache", ge=0
    )
    jitter: float | None = option(
        None, "relative standard deviation of a seeded factor on each step time", ge=0
    )
    seed: int | None = option(None, "seed of the simulator's random draws")
    max_model_len: int | None = option(None, "context length; null = model.max_model_len", ge=1)
    scheduling_policy: str | None = option(
        None, "fcfs, or priority (lower `priority` value first)", choices=("fcfs", "priority")
    )
    speculative_config: dict[str, Any] | None = option(
        None,
        "vLLM's shape (the same key as server=vllm): the simulator reads num_speculative_tokens "
        "and its own acceptance_rate (per draft token, default 0.7)",
    )
    output_len_mean: int | None = option(
        None, "mean of the seeded output length when max_tokens/ignore_eos do not fix it", ge=1
    )
    output_token_text: str | None = option(None, "text of one generated token")
    reasoning_tokens: int | None = option(
        None, "chat: the first N output tokens are `reasoning` deltas (0 = none)", ge=0
    )
    enable_prompt_tokens_details: bool | None = option(
        None, "usage.prompt_tokens_details.cached_tokens in the final usage (as vLLM's flag)"
    )
    fail_500_rate: float | None = _rate("fraction of requests answered 500")
    fail_429_rate: float | None = _rate("fraction of requests answered 429")
    cut_stream_rate: float | None = _rate("fraction of streams cut after a random chunk")
    stall_rate: float | None = _rate("fraction of streams that stall once for stall_s")
    stall_s: float | None = option(None, "seconds a stalled stream stops sending", ge=0)
    crash_after: int | None = option(
        None, "exit (code 70) on request number crash_after + 1 (0 = never)", ge=0
    )
    slow_start_s: float | None = option(
        None, "/health answers 503 for this many seconds after start", ge=0
    )
    args: dict[str, Any] = option(
        default_factory=dict, help="any further simulator option, passed as --key value"
    )


# fields of SimServerConfig that are not simulator options
_NOT_OPTIONS = {f.name for f in fields(ServerConfig)} | {"profile", "args", "speculative_config"}


@SERVER_KINDS.register("sim")
class SimKind(ServerKind[SimServerConfig]):
    name = "sim"
    config = SimServerConfig
    simulated = True
    expected_start_s = 2.0

    def check(self, model: ModelConfig, server: SimServerConfig) -> None:
        super().check(model, server)
        speculative_args(server.speculative_config)

    def plan(
        self, model: ModelConfig, server: SimServerConfig, port: int, workdir: Path
    ) -> LaunchPlan:
        argv = [
            sys.executable, "-m", "launchers.sim",
            "--host", server.host,
            "--port", str(port),
            "--served-model-name", model.name,
            "--profile", server.profile,
            "--ground-truth-out", str(workdir / f"sim-ground-truth-{port}.jsonl"),
        ]  # fmt: skip
        if model.tokenizer:
            argv += ["--tokenizer", model.tokenizer]
        if model.max_model_len is not None and server.max_model_len is None:
            argv += option_args("max_model_len", model.max_model_len)
        for f in fields(server):
            value = getattr(server, f.name)
            if f.name not in _NOT_OPTIONS and value is not None:
                argv += option_args(f.name, value)
        argv += speculative_args(server.speculative_config)
        for name, value in server.args.items():
            argv += option_args(name, value)
        return LaunchPlan(
            argv=argv,
            base_url=f"http://{server.host}:{port}",
            env=dict(server.env),
            health_path=server.health_path,
            served_model=model.name,
        )

    def executable(self, server: SimServerConfig) -> str:
        return sys.executable


def option_args(name: str, value: object) -> list[str]:
    """One CLI option from a config field: `--name value`; booleans as `--name` / `--no-name`;
    dicts and lists as JSON. Values reach argv verbatim (no shell is involved)."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag] if value else ["--no-" + name.replace("_", "-")]
    if isinstance(value, dict | list):
        return [flag, json.dumps(value, separators=(",", ":"))]
    return [flag, str(value)]


def speculative_args(spec: dict[str, Any] | None) -> list[str]:
    """vLLM's speculative_config as simulator options (method and model are not simulated)."""
    if not spec:
        return []
    try:
        argv = option_args("num_speculative_tokens", int(spec["num_speculative_tokens"]))
        if "acceptance_rate" in spec:
            argv += option_args("spec_acceptance_rate", float(spec["acceptance_rate"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(
            f"server.speculative_config: needs an integer num_speculative_tokens "
            f"(and optionally acceptance_rate in [0, 1]): {e}"
        ) from None
    return argv
