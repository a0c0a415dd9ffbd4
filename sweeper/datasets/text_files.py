"""Datasets of real text: ShareGPT conversations, a sonnet-style corpus, custom JSONL prompts."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.config import CustomDatasetConfig, ShareGPTDatasetConfig, SonnetDatasetConfig
from sweeper.datasets.files import as_number, read_json, read_jsonl, require_file
from sweeper.datasets.tokenizer import count_tokens
from sweeper.records import RequestSpec


def fit(
    specs: list[RequestSpec], num: int, rng: np.random.Generator, what: str
) -> list[RequestSpec]:
    """Exactly `num` specs: the first `num`, or all plus seeded repeats when there are fewer."""
    if not specs:
        raise ConfigError(f"{what}: no usable records after filtering")
    if len(specs) >= num:
        return specs[:num]
    extra = rng.choice(len(specs), num - len(specs)).tolist()
    return specs + [specs[i] for i in extra]


def _turn_text(turn: Any) -> str | None:
    if not isinstance(turn, dict):
        return None
    text = turn.get("value", turn.get("content"))
    return text if isinstance(text, str) else None


def _conversations(path: str) -> list[list[Any]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a JSON list of conversations")
    out = []
    for i, entry in enumerate(data):
        convs = (
            entry.get("conversations", entry.get("messages")) if isinstance(entry, dict) else None
        )
        if not isinstance(convs, list):
            raise ConfigError(f"{path}: entry {i}: no 'conversations' list")
        for j, turn in enumerate(convs[:2]):
            if _turn_text(turn) is None:
                raise ConfigError(f"{path}: entry {i}: turn {j} has no text 'value'/'content'")
        out.append(convs)
    return out


def check_sharegpt(cfg: ShareGPTDatasetConfig) -> None:
    if not any(len(c) >= 2 for c in _conversations(cfg.path)):
        raise ConfigError(f"{cfg.path}: no conversation with a prompt and an answer")


def sample_sharegpt(
    cfg: ShareGPTDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    """vLLM's ShareGPT sampling: shuffle (seeded), first turn = prompt, second = reference answer,
    drop pairs outside the length filters, stop at num_prompts. The shuffle is vLLM's own
    (`random.seed(seed); random.shuffle(...)`), so the same file and seed give the same
    requests in the same order as `vllm bench serve --dataset-name sharegpt --seed`."""
    rng = np.random.default_rng(cfg.seed)
    convs = [c for c in _conversations(cfg.path) if len(c) >= 2]
    order = list(range(len(convs)))
    random.Random(cfg.seed).shuffle(order)
    specs: list[RequestSpec] = []
    for i in order:
        if len(specs) >= num_prompts:
            break
        prompt = _turn_text(convs[i][0]) or ""
        prompt_len = count_tokens(tokenizer, prompt)
        output_len = cfg.output_len
        if output_len is None:
            output_len = count_tokens(tokenizer, _turn_text(convs[i][1]) or "")
            if output_len < cfg.min_len:
                continue
        if prompt_len < cfg.min_len or prompt_len > cfg.max_prompt_len:
            continue
        if prompt_len + output_len > cfg.max_total_len:
            continue
        messages = [{"role": "user", "content": prompt}] if cfg.as_chat else None
        specs.append(
            RequestSpec(
                prompt=prompt, prompt_len=prompt_len, output_len=output_len, messages=messages
            )
        )
    return fit(specs, num_prompts, rng, f"dataset {cfg.path}")


def _corpus_lines(path: str) -> list[str]:
    p = require_file(path)
    try:
        lines = [ln.rstrip("\n") for ln in p.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise ConfigError(f"{path}: no text lines")
    return lines


def check_sonnet(cfg: SonnetDatasetConfig) -> None:
    _corpus_lines(cfg.path)
    if cfg.prefix_len > cfg.input_len:
        raise ConfigError(
            f"dataset.prefix_len: {cfg.prefix_len} exceeds dataset.input_len {cfg.input_len}"
        )


def sample_sonnet(
    cfg: SonnetDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    """Instruction + the corpus's first lines up to prefix_len tokens (shared by every prompt)
    + seeded random lines until input_len tokens (a whole line may overshoot by < one line)."""
    rng = np.random.default_rng(cfg.seed)
    lines = [ln + "\n" for ln in _corpus_lines(cfg.path)]
    line_tokens = [count_tokens(tokenizer, ln) for ln in lines]
    prefix = cfg.instruction
    used = count_tokens(tokenizer, prefix)
    for ln, n in zip(lines, line_tokens, strict=True):
        if used + n > cfg.prefix_len:
            break
        prefix += ln
        used += n
    specs = []
    for _ in range(num_prompts):
        parts, total = [prefix], used
        while total < cfg.input_len:
            k = int(rng.integers(len(lines)))
            parts.append(lines[k])
            total += line_tokens[k]
        text = "".join(parts)
        specs.append(
            RequestSpec(
                prompt=text, prompt_len=count_tokens(tokenizer, text), output_len=cfg.output_len
            )
        )
    return specs


def _custom_rows(cfg: CustomDatasetConfig) -> list[RequestSpec]:
    specs = []
    for lineno, row in read_jsonl(cfg.path):
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError(f"{cfg.path}:{lineno}: 'prompt' must be a non-empty string")
        out = row.get("output_len", cfg.output_len)
        if out is not None:
            out = int(as_number(out, cfg.path, lineno, "output_len"))
        ts = row.get("timestamp")
        arrival = None if ts is None else as_number(ts, cfg.path, lineno, "timestamp", False)
        specs.append(RequestSpec(prompt=prompt, prompt_len=0, output_len=out, arrival_s=arrival))
    return specs


def check_custom(cfg: CustomDatasetConfig) -> None:
    _custom_rows(cfg)


def sample_custom(
    cfg: CustomDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    rng = np.random.default_rng(cfg.seed)
    specs = _custom_rows(cfg)
    if cfg.shuffle:
        specs = [specs[i] for i in rng.permutation(len(specs)).tolist()]
    for spec in specs:
        spec.prompt_len = count_tokens(tokenizer, spec.prompt)
    return fit(specs, num_prompts, rng, f"dataset {cfg.path}")
