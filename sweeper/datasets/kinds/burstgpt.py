"""`dataset=burstgpt`: BurstGPT CSV lengths and timestamps of real traffic, random-token
prompts of those lengths (timestamps go to RequestSpec.arrival_s for load.schedule=trace)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig, fit
from sweeper.datasets.files import as_number, read_csv
from sweeper.datasets.synthetic import TraceRow, length_only_specs
from sweeper.records import RequestSpec

BURSTGPT_COLUMNS = ["Timestamp", "Request tokens", "Response tokens"]


@DATASET_KINDS.register("burstgpt")
@dataclass
class BurstGPTDatasetConfig(DatasetConfig):
    """BurstGPT CSV (Timestamp, Model, Request tokens, Response tokens, ...): lengths (and the
    arrival timestamps, for load.schedule=trace) of real traffic; prompts are random tokens."""

    kind: str = option("burstgpt", KIND_HELP)
    path: str = option("", "the BurstGPT CSV file")
    model_filter: str | None = option(None, "keep rows of this Model column value (null = all)")
    drop_failed: bool = option(
        True, "drop rows whose response has 0 tokens (failed requests in the log)"
    )
    in_order: bool = option(
        True, "take rows in file order (true, for trace replay) or a seeded random sample"
    )

    def check(self) -> None:
        self._rows()

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        rng = np.random.default_rng(self.seed)
        rows = self._rows()
        if not self.in_order:
            rows = [rows[i] for i in rng.permutation(len(rows)).tolist()]
        specs = length_only_specs(rows[:num_prompts], tokenizer, rng)
        return fit(specs, num_prompts, rng, f"dataset {self.path}")

    def _rows(self) -> list[TraceRow]:
        rows: list[TraceRow] = []
        path = self.path
        for lineno, row in read_csv(path, BURSTGPT_COLUMNS):
            if self.model_filter is not None and row.get("Model") != self.model_filter:
                continue
            ts = as_number(row["Timestamp"], path, lineno, "Timestamp", integer=False)
            n_in = int(as_number(row["Request tokens"], path, lineno, "Request tokens"))
            n_out = int(as_number(row["Response tokens"], path, lineno, "Response tokens"))
            if self.drop_failed and n_out == 0:
                continue
            rows.append((ts, max(n_in, 1), max(n_out, 1)))
        if not rows:
            raise ConfigError(f"{path}: no rows left after model_filter/drop_failed")
        return rows
