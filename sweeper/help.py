"""`python -m sweeper --help [GROUP ...]`: help built from the schemas, not kept beside them.

    python -m sweeper --help                       groups and options, top-level keys, examples
    python -m sweeper --help server                the keys of the server option selected (sim)
    python -m sweeper server=vllm --help server    ... of server=vllm
    python -m sweeper --help all                   every group
    python -m sweeper --help server.cpus           one key (or the keys under a dotted prefix)

The command line is composed as a run would compose it (so overrides pick the options and set
the values shown), then each group's node is walked through its structured type
(`_metadata.object_type`, `dataclasses.fields`): key, type, the value composed (interpolations
as written) and the field's help and limits (`instruments.options.field_help`). Any option of any
group works, whatever its schema; a field without help shows its type and value. The option's
YAML header comment (what it is for, examples) comes first. `--hydra-help` stays Hydra's.

Only Hydra and the schemas are imported: no MLflow, no server pool.
"""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from instruments.errors import ConfigError
from instruments.options import field_help
from sweeper.schema import CONF_DIR, SCHEMA_GROUP, register

EVERY_GROUP = "all"
WIDTH = 100
# where the help of a top-level key starts in the overview
KEY_COLUMN = 24

HEADER = "sweeper — declarative benchmark sweeps for LLM serving (vLLM metrics, MLflow runs)"
USAGE = """\
Usage:
  python -m sweeper [-m] [KEY=VALUE ...]            one job, or with -m the sweep of a grid
  python -m sweeper [KEY=VALUE ...] --help GROUP    the keys of GROUP for the options selected:
                                                    type, value, help (GROUP all: every group;
                                                    GROUP.KEY: one key)
  python -m sweeper [-m] KEY=VALUE ... plan=true    the plan of a sweep, nothing run
  python -m sweeper --hydra-help                    Hydra's own flags"""
EXAMPLES = """\
Examples:
  python -m sweeper                                   one job on the simulator
  python -m sweeper -m concurrency=1,8,32             a three-point sweep, one server start
  python -m sweeper -m request_rate=1,4,16 concurrency=null
  python -m sweeper server=external server.base_url=http://127.0.0.1:8000 model.name=NAME
  python -m sweeper server=vllm model=tiny-random     real vLLM (see scripts/setup-vllm-cpu.sh)
  python -m sweeper server=vllm --help server         the keys of server=vllm
  python -m sweeper --cfg job                         print the composed config
  mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db

Powered by Hydra (https://hydra.cc); use --hydra-help for Hydra's own options."""


def render_help(argv: Sequence[str]) -> str:
    """The help text for a command line holding `--help`: bare words name the groups (or dotted
    keys) to show, overrides select their options. Raises Hydra's composition errors, or a
    ConfigError for a word that names no group or key."""
    # Hydra's own parser: its flags (-m, --cfg job, -cn NAME ...) are no group names
    words = get_args_parser().parse_intermixed_args(list(argv)).overrides
    topics = [w for w in words if "=" not in w and not w.startswith("~")]
    cfg, groups = _compose([w for w in words if w not in topics])
    choices = {k: v for k, v in cfg.hydra.runtime.choices.items() if k in groups}
    if not topics:
        return _overview(cfg, groups, choices)
    known = [*groups, *(k for k in _sections(cfg) if k not in groups)]
    if EVERY_GROUP in topics:
        topics = known
    blocks = []
    for topic in topics:
        group = topic.split(".", 1)[0]
        block = _group_help(cfg, group, groups, choices, topic) if group in known else None
        if block is None:
            raise ConfigError(
                f"--help {topic}: no such group or key (groups: {', '.join(known)}, {EVERY_GROUP})"
            )
        blocks.append(block)
    return "\n\n".join(blocks)


def _compose(overrides: list[str]) -> tuple[DictConfig, dict[str, list[str]]]:
    """The config as a run composes it, and the groups with their options. A swept override
    (`-m concurrency=1,8`) is left out: the help shows keys, not the grid."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override() and o.input_line]
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=fixed, return_hydra_config=True)
        return cfg, _group_options()


def _group_options(parent: str = "") -> dict[str, list[str]]:
    """{group: options} of the config search path, without Hydra's and the schemas' groups."""
    loader = GlobalHydra.instance().config_loader()
    found: dict[str, list[str]] = {}
    for name in loader.list_groups(parent):
        group = f"{parent}/{name}" if parent else name
        if group in ("hydra", SCHEMA_GROUP):
            continue
        options = loader.get_group_options(group)
        if options:
            found[group] = options
        found.update(_group_options(group))
    return dict(sorted(found.items()))


def _sections(cfg: DictConfig) -> list[str]:
    """Top-level keys that hold a structured node (model, server, ..., slo, report)."""
    return [f.name for f in _fields_of(cfg) if _structured(cfg._get_node(f.name)) is not None]


def _structured(node: Any) -> type | None:
    """The dataclass behind a config node, if it has one."""
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return None
    cls = node._metadata.object_type
    return cls if isinstance(cls, type) and dataclasses.is_dataclass(cls) else None


def _fields_of(node: DictConfig) -> list[dataclasses.Field[Any]]:
    cls = _structured(node)
    return [f for f in dataclasses.fields(cls) if f.name in node] if cls else []


def _overview(cfg: DictConfig, groups: dict[str, list[str]], choices: dict[str, Any]) -> str:
    lines = [HEADER, "", USAGE, ""]
    lines.append("Config groups (choose one option each, e.g. server=external):")
    for group, options in groups.items():
        how = "" if group in choices else f" (add one: +{group}=NAME)"
        lines.append(_wrap(f"  {group}{how}:", ", ".join(options), indent=4, gap=" "))
    others = [k for k in _sections(cfg) if k not in groups]
    if others:
        lines.append(f"Keys without options: {', '.join(others)} (--help {others[0]})")
    lines += ["", "Top-level keys (KEY=VALUE; the groups read them by interpolation):"]
    for f in _fields_of(cfg):
        if _structured(cfg._get_node(f.name)) is None:
            head = f"  {f.name} = {_value(cfg._get_node(f.name))}"
            lines.append(_wrap(f"{head:<{KEY_COLUMN}}", field_help(f), indent=KEY_COLUMN + 2))
    lines += ["", EXAMPLES]
    return "\n".join(lines)


def _group_help(
    cfg: DictConfig, group: str, groups: dict[str, list[str]], choices: dict[str, Any], topic: str
) -> str | None:
    """The keys of `group` under `topic` (the group itself or one of its dotted keys); None when
    `topic` holds no key."""
    node = OmegaConf.select(cfg, group.replace("/", "."), default=None)
    cls = _structured(node)
    if cls is None:  # a group of overlays (experiment, speculative): its options, what they do
        return _overlay_help(group, groups[group]) if topic == group else None
    keys = [
        _two_lines(key, f, value)
        for key, f, value in _walk(node, f"{group}.")
        if topic in (group, key) or key.startswith(f"{topic}.")
    ]
    if not keys:
        return None
    chosen = choices.get(group)
    title = f"{group}={chosen}" if chosen else group
    lines = [_wrap(f"{title} ({cls.__name__}):", _doc(cls), gap=" ")]
    if topic == group:
        lines += [f"  # {line}" for line in _yaml_comment(group, chosen)]
    return "\n".join(lines + keys)


def _overlay_help(group: str, options: list[str]) -> str:
    lines = [f"{group} (add one: +{group}=NAME):"]
    width = max(map(len, options))
    for option in options:
        lines.append(_wrap(f"  {option:<{width}}", _first_sentence(group, option), width + 4))
    return "\n".join(lines)


def _walk(node: DictConfig, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """(dotted key, field, node) of every field of a structured node, nested ones flattened."""
    for f in _fields_of(node):
        child = node._get_node(f.name)
        if _structured(child) is not None:
            assert isinstance(child, DictConfig)
            yield from _walk(child, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f, child


def _doc(cls: type) -> str:
    """The first paragraph of a schema's docstring (dataclass's generated signature: none)."""
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _yaml_comment(group: str, option: str | None) -> list[str]:
    """The header comment of a YAML option (its purpose, then indented examples), without
    `# @package`."""
    path = Path(CONF_DIR) / group / f"{option}.yaml"
    if option is None or not path.is_file():
        return []
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            lines.append(line[2:].rstrip())
    return lines


def _first_sentence(group: str, option: str) -> str:
    """What an option is for: the first sentence of its YAML header comment."""
    prose = []
    for line in _yaml_comment(group, option):
        if not line or line.startswith(" "):  # the examples start
            break
        prose.append(line)
    text = " ".join(prose)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _type(f: dataclasses.Field[Any]) -> str:
    # the modules use `from __future__ import annotations`: the annotation is the source text
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _value(node: Any) -> str:
    """A node's value as one would type it, interpolations unresolved (`${run_seed}`)."""
    if node is None:
        return "null"
    if node._is_missing():
        return "??? (required)"
    if isinstance(node, DictConfig | ListConfig):
        return json.dumps(OmegaConf.to_container(node, resolve=False))
    value = node._value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "null" if value is None else str(value)


def _two_lines(key: str, f: dataclasses.Field[Any], node: Any) -> str:
    head = f"  {key}: {_type(f)} = {_value(node)}"
    about = field_help(f)
    if not about:
        return head
    margin = " " * 6
    return (
        head + "\n" + textwrap.fill(about, WIDTH, initial_indent=margin, subsequent_indent=margin)
    )


def _wrap(head: str, about: str, indent: int = 4, gap: str = "  ") -> str:
    """`head` and `about` on one line, wrapped at WIDTH under an `indent`-wide margin."""
    if not about:
        return head
    return textwrap.fill(
        f"{head}{gap}{about}",
        WIDTH,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        break_long_words=False,
    )
