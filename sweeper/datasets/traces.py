"""Length-only traces (BurstGPT CSV, Mooncake/Azure-style JSONL or CSV): real lengths and arrival
times, random-token prompts of those lengths. Timestamps go to RequestSpec.arrival_s, which
load.schedule=trace replays."""

from __future__ import annotations

from typing import Any

import numpy as np

from instruments.errors import ConfigError
from sweeper.datasets.config import BurstGPTDatasetConfig, TraceDatasetConfig
from sweeper.datasets.files import as_number, read_csv, read_table
from sweeper.datasets.synthetic import PromptMaker
from sweeper.datasets.text_files import fit
from sweeper.records import RequestSpec

BURSTGPT_COLUMNS = ["Timestamp", "Request tokens", "Response tokens"]

# (arrival s, input tokens, output tokens)
Row = tuple[float, int, int]


def _burstgpt_rows(cfg: BurstGPTDatasetConfig) -> list[Row]:
    rows: list[Row] = []
    for lineno, row in read_csv(cfg.path, BURSTGPT_COLUMNS):
        if cfg.model_filter is not None and row.get("Model") != cfg.model_filter:
            continue
        ts = as_number(row["Timestamp"], cfg.path, lineno, "Timestamp", integer=False)
        n_in = int(as_number(row["Request tokens"], cfg.path, lineno, "Request tokens"))
        n_out = int(as_number(row["Response tokens"], cfg.path, lineno, "Response tokens"))
        if cfg.drop_failed and n_out == 0:
            continue
        rows.append((ts, max(n_in, 1), max(n_out, 1)))
    if not rows:
        raise ConfigError(f"{cfg.path}: no rows left after model_filter/drop_failed")
    return rows


def _trace_rows(cfg: TraceDatasetConfig) -> list[Row]:
    if cfg.timestamp_unit not in ("s", "ms"):
        raise ConfigError(
            f"dataset.timestamp_unit: must be 's' or 'ms', got {cfg.timestamp_unit!r}"
        )
    scale = 1e-3 if cfg.timestamp_unit == "ms" else 1.0
    fields = [cfg.timestamp_field, cfg.input_field, cfg.output_field]
    rows: list[Row] = []
    for lineno, row in read_table(cfg.path, fields):
        ts = as_number(row[cfg.timestamp_field], cfg.path, lineno, cfg.timestamp_field, False)
        n_in = int(as_number(row[cfg.input_field], cfg.path, lineno, cfg.input_field))
        n_out = int(as_number(row[cfg.output_field], cfg.path, lineno, cfg.output_field))
        rows.append((ts * scale, max(n_in, 1), max(n_out, 1)))
    return rows


def _specs(rows: list[Row], tokenizer: Any | None, rng: np.random.Generator) -> list[RequestSpec]:
    maker = PromptMaker(tokenizer, rng)
    specs = []
    for ts, n_in, n_out in rows:
        text, n = maker.make(n_in)
        specs.append(RequestSpec(prompt=text, prompt_len=n, output_len=n_out, arrival_s=ts))
    return specs


def check_burstgpt(cfg: BurstGPTDatasetConfig) -> None:
    _burstgpt_rows(cfg)


def sample_burstgpt(
    cfg: BurstGPTDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    rng = np.random.default_rng(cfg.seed)
    rows = _burstgpt_rows(cfg)
    if not cfg.in_order:
        rows = [rows[i] for i in rng.permutation(len(rows)).tolist()]
    return fit(_specs(rows[:num_prompts], tokenizer, rng), num_prompts, rng, f"dataset {cfg.path}")


def check_trace(cfg: TraceDatasetConfig) -> None:
    _trace_rows(cfg)


def sample_trace(
    cfg: TraceDatasetConfig, num_prompts: int, tokenizer: Any | None
) -> list[RequestSpec]:
    """The first num_prompts rows in file order (a trace is replayed, not sampled)."""
    rng = np.random.default_rng(cfg.seed)
    rows = _trace_rows(cfg)[:num_prompts]
    return _specs(rows, tokenizer, rng)
