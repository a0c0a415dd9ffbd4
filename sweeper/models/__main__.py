"""`python -m sweeper.models [tiny-random]`: generate a model now and print its folder (e.g. to
check a vLLM setup by hand: `vllm serve "$(python -m sweeper.models)"`)."""

from __future__ import annotations

import argparse
import sys

from instruments.errors import ConfigError
from launchers.config import ModelConfig
from sweeper.models import GENERATORS, materialize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeper.models", description=__doc__)
    parser.add_argument("generator", nargs="?", default="tiny-random", choices=GENERATORS)
    args = parser.parse_args(argv)
    try:
        model = materialize(ModelConfig(name=args.generator, generate=args.generator))
    except ConfigError as e:
        print(f"[sweeper] {e}", file=sys.stderr)
        return 1
    print(model.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
