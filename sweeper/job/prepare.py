"""Everything a job can check or build before a server starts: cheap validation, the model's
local files, the tokenizer and the sampled requests. Bad input fails here, in one line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any

from instruments.errors import ConfigError
from launchers.config import ModelConfig
from launchers.kinds import check_server
from sweeper.client.config import check_load
from sweeper.models import materialize
from sweeper.records import RequestSpec

if TYPE_CHECKING:
    from sweeper.schema import RunSpec


@dataclass
class Prepared:
    model: ModelConfig
    requests: list[RequestSpec]


def unknown_keys(node: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """Keys added with `+key=value` that no schema declares (OmegaConf keeps them as extra
    attributes of the dataclass): (dotted key, the known keys beside it)."""
    known = [f.name for f in fields(node)]
    for name, value in vars(node).items():
        if name not in known:
            yield prefix + name, known
        elif is_dataclass(value) and not isinstance(value, type):
            yield from unknown_keys(value, f"{prefix}{name}.")


# result.json keys a sweep can optimize (vLLM's names)
OBJECTIVE = re.compile(
    r"request_throughput|request_goodput|output_throughput|total_token_throughput"
    r"|max_output_tokens_per_s|completed|failed|duration"
    r"|(mean|median|std|p\d+(\.\d+)?)_(ttft|tpot|itl|e2el)_ms"
)


def validate(spec: RunSpec) -> None:
    """Checks that cost milliseconds; each error names the key."""
    for key, known in unknown_keys(spec):
        raise ConfigError(f"{key}: unknown key (known here: {', '.join(known)})")
    check_load(spec.load)
    if spec.objective is not None and not OBJECTIVE.fullmatch(spec.objective):
        raise ConfigError(
            f"objective: {spec.objective!r} is not a result key "
            "(e.g. request_goodput, output_throughput, p99_ttft_ms)"
        )
    for p in spec.percentiles:
        if not 0 < p <= 100:
            raise ConfigError(f"percentiles: {p} is not in (0, 100]")
    for key in ("ttft_ms", "tpot_ms", "e2el_ms"):
        bound = getattr(spec.slo, key)
        if bound is not None and not (bound > 0 and math.isfinite(bound)):
            raise ConfigError(f"slo.{key}: must be a positive number of milliseconds, got {bound}")
    check_server(spec.model, spec.server)


def prepare(spec: RunSpec) -> Prepared:
    from sweeper.datasets import load_tokenizer, sample
    from sweeper.datasets import validate as validate_dataset
    from sweeper.features.apply import check_backend, decorate

    validate(spec)
    validate_dataset(spec.dataset)
    model = materialize(spec.model)  # e.g. model=tiny-random, generated locally on first use
    tokenizer = load_tokenizer(model.tokenizer)
    requests = sample(spec.dataset, spec.load.num_prompts, tokenizer)
    decorate(spec.dataset, requests, spec.server, tokenizer)
    check_backend(spec.load, requests)
    return Prepared(model, requests)
