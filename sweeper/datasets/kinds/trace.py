"""`dataset=trace`: a length-only request trace (Mooncake/Azure-style JSONL or CSV): real
lengths and arrival times, random-token prompts of those lengths (replayed by load=trace)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.base import DATASET_KINDS, KIND_HELP, DatasetConfig
from sweeper.datasets.files import as_number, read_table
from sweeper.datasets.synthetic import TraceRow, length_only_specs
from sweeper.records import RequestSpec


@DATASET_KINDS.register("trace")
@dataclass
class TraceDatasetConfig(DatasetConfig):
    """A request trace (JSONL or CSV): arrival timestamp, input and output lengths per row
    (Mooncake/Azure-style); prompts are random tokens of the given lengths."""

    kind: str = option("trace", KIND_HELP)
    path: str = option("", "the trace file (.csv = CSV, else JSONL)")
    timestamp_field: str = option("timestamp", "field of the arrival time")
    timestamp_unit: str = option("s", "unit of the arrival time: s | ms")
    input_field: str = option("input_length", "field of the prompt length (tokens)")
    output_field: str = option("output_length", "field of the output length (tokens)")

    def check(self) -> None:
        self._rows()

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        """The first num_prompts rows in file order (a trace is replayed, not sampled)."""
        rng = np.random.default_rng(self.seed)
        return length_only_specs(self._rows()[:num_prompts], tokenizer, rng)

    def _rows(self) -> list[TraceRow]:
        if self.timestamp_unit not in ("s", "ms"):
            raise ConfigError(
                f"dataset.timestamp_unit: must be 's' or 'ms', got {self.timestamp_unit!r}"
            )
        scale = 1e-3 if self.timestamp_unit == "ms" else 1.0
        path = self.path
        fields = [self.timestamp_field, self.input_field, self.output_field]
        rows: list[TraceRow] = []
        for lineno, row in read_table(path, fields):
            ts = as_number(row[self.timestamp_field], path, lineno, self.timestamp_field, False)
            n_in = int(as_number(row[self.input_field], path, lineno, self.input_field))
            n_out = int(as_number(row[self.output_field], path, lineno, self.output_field))
            rows.append((ts * scale, max(n_in, 1), max(n_out, 1)))
        return rows
