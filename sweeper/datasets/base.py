"""What every dataset kind shares: the base schema `DatasetConfig` (with its checks), the
registry of kinds, and the helpers the kinds' samplers have in common.

A kind is one module of `sweeper.datasets.kinds` holding its schema, a `DatasetConfig` subclass
registered with `@DATASET_KINDS.register("<kind>")`, whose `sample` makes the requests and whose
`check` (optional) is the kind's cheap check; plus its option `conf/dataset/<kind>.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ConfigError
from instruments.options import check_limits, option
from instruments.registry import Registry
from sweeper.features.config import PriorityConfig, StructuredOutputConfig
from sweeper.records import RequestSpec, SessionSpec

KIND_HELP = "the dataset kind: a module of sweeper.datasets.kinds, and conf/dataset/<kind>.yaml"


@dataclass
class DatasetConfig:
    kind: str = option("random", KIND_HELP)
    seed: int = option(0, "seed of every random draw of the dataset")
    # request decorators that compose with every kind (off by default; sweeper.features)
    priority: PriorityConfig = option(
        help="a share of requests sent as the high-priority class", default_factory=PriorityConfig
    )
    structured_output: StructuredOutputConfig = option(
        help="a constraint attached to a share of requests",
        default_factory=StructuredOutputConfig,
    )

    def validate(self) -> None:
        """Cheap checks before any server starts (ConfigError `<file>:<line>: <what>` or one
        line naming the `dataset.*` key)."""
        self.check_schema()
        self.check()

    def check_schema(self) -> None:
        """The kind is known, this is its schema, and every field is within its limits."""
        kind = DATASET_KINDS.get(self.kind)
        if not isinstance(self, kind):
            raise ConfigError(
                f"dataset.kind: {self.kind!r} needs the schema/dataset/{self.kind} schema, "
                f"got {type(self).__name__}"
            )
        check_limits(self, "dataset.")

    def check(self) -> None:
        """The kind's own cheap check. By default one prompt is sampled without a tokenizer,
        which checks the numbers of a kind without a file."""
        self.sample(1, None)

    def sample(self, num_prompts: int, tokenizer: Any | None) -> list[RequestSpec]:
        """`num_prompts` request specs, deterministic for `seed` (and the tokenizer)."""
        raise NotImplementedError(f"dataset kind {self.kind!r} has no sampler")

    def is_sessions(self) -> bool:
        """True when this dataset (as configured) is multi-turn: the client then drives
        `sample_sessions` turn by turn (sweeper.client.sessions) and num_prompts counts sessions."""
        return False

    def sample_sessions(self, num_sessions: int, tokenizer: Any | None) -> list[SessionSpec]:
        """`num_sessions` sessions, deterministic for `seed` (and the tokenizer)."""
        raise NotImplementedError(f"dataset kind {self.kind!r} has no sessions")


# dataset.kind -> its schema (a DatasetConfig subclass, registered in its own module)
DATASET_KINDS: Registry[type[DatasetConfig]] = Registry("kind", key="dataset.kind")


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
