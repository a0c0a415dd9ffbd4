"""Schemas of the `dataset` config group, one dataclass per dataset kind.

Every kind is deterministic for `seed`. File-backed kinds take `path` (a local file); a bad file
is reported as `<file>:<line>: <what>` by `sweeper.datasets.validate` before any server starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sweeper.features.config import PriorityConfig, StructuredOutputConfig


@dataclass
class DatasetConfig:
    kind: str = "random"
    seed: int = 0
    # request decorators that compose with every kind (off by default; sweeper.features)
    priority: PriorityConfig = field(default_factory=PriorityConfig)
    structured_output: StructuredOutputConfig = field(default_factory=StructuredOutputConfig)


@dataclass
class RandomDatasetConfig(DatasetConfig):
    """Random token prompts with token-exact lengths (through the tokenizer when there is one)."""

    kind: str = "random"
    input_len: int = 256
    output_len: int = 128
    # lengths drawn uniformly from [len * (1 - r), len * (1 + r)]
    range_ratio: float = 0.0
    # tokens of a prefix shared by every prompt
    prefix_len: int = 0


@dataclass
class ShareGPTDatasetConfig(DatasetConfig):
    """ShareGPT JSON (a list of {"conversations": [{"from"/"role", "value"/"content"}, ...]}):
    the first human turn is the prompt, the reply's length is the output length."""

    kind: str = "sharegpt"
    path: str = ""
    # force every output length (None = the reference answer's token count)
    output_len: int | None = None
    # vLLM's filters: drop pairs with a prompt or answer shorter than min_len, a prompt longer
    # than max_prompt_len, or prompt + answer longer than max_total_len (tokens)
    min_len: int = 4
    max_prompt_len: int = 1024
    max_total_len: int = 2048
    # send the first turn as chat messages (for openai-chat) besides the plain prompt
    as_chat: bool = False


@dataclass
class SonnetDatasetConfig(DatasetConfig):
    """Prompts cut from a text corpus (one line a verse): a shared prefix of the first lines,
    then random lines until input_len tokens."""

    kind: str = "sonnet"
    path: str = ""
    input_len: int = 550
    output_len: int = 150
    prefix_len: int = 200
    instruction: str = "Pick as many lines as you can from these poem lines:\n"


@dataclass
class BurstGPTDatasetConfig(DatasetConfig):
    """BurstGPT CSV (Timestamp, Model, Request tokens, Response tokens, ...): lengths (and the
    arrival timestamps, for load.schedule=trace) of real traffic; prompts are random tokens."""

    kind: str = "burstgpt"
    path: str = ""
    # keep rows of this Model column value (None = all)
    model_filter: str | None = None
    # drop rows whose response has 0 tokens (failed requests in the log)
    drop_failed: bool = True
    # take rows in file order (True, for trace replay) or a seeded random sample
    in_order: bool = True


@dataclass
class PrefixRepetitionDatasetConfig(DatasetConfig):
    """`num_prefixes` shared prefixes, each followed by a unique suffix (prefix-cache sweeps)."""

    kind: str = "prefix_repetition"
    prefix_len: int = 256
    suffix_len: int = 256
    num_prefixes: int = 10
    output_len: int = 128


@dataclass
class CustomDatasetConfig(DatasetConfig):
    """JSONL, one object a line: "prompt" (str) and optionally "output_len" (int) and
    "timestamp" (seconds, for load.schedule=trace)."""

    kind: str = "custom"
    path: str = ""
    # used where a line has no output_len
    output_len: int | None = 256
    shuffle: bool = False


@dataclass
class TraceDatasetConfig(DatasetConfig):
    """A request trace (JSONL or CSV): arrival timestamp, input and output lengths per row
    (Mooncake/Azure-style); prompts are random tokens of the given lengths."""

    kind: str = "trace"
    path: str = ""
    timestamp_field: str = "timestamp"
    # s | ms
    timestamp_unit: str = "s"
    input_field: str = "input_length"
    output_field: str = "output_length"


@dataclass
class HFDatasetConfig(DatasetConfig):
    """A Hugging Face dataset through `datasets` (a local dataset folder or a cached hub id)."""

    kind: str = "hf"
    name: str = ""
    subset: str | None = None
    split: str = "train"
    prompt_field: str = "prompt"
    # used where the row has no output length field
    output_len: int = 256
    output_len_field: str | None = None
