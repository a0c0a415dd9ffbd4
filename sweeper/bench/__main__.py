"""`python -m sweeper.bench`: every figure the README states, each beside its target.

    python -m sweeper.bench                  # the full bench (≤ 10 minutes)
    python -m sweeper.bench --quick          # small counts (CI: the figures exist, not their size)
    python -m sweeper.bench --json out.json --only client,startup

Figures are noisy (a shared machine shows it in the load average printed with them, a slower
day in the time of a fixed Python loop, `python_loop_ms`); CPU time is steadier than latency.
Nothing here is a gate: verdicts say met or missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sweeper.bench import sections
from sweeper.bench.report import machine_context, table, write_json

SECTIONS = ("client", "startup", "orchestration", "analysis", "simulator")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeper.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (CI)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--repeats", type=int, default=None, help="client runs per tool (3)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown section {unknown[0]} (choose from {', '.join(SECTIONS)})")
    repeats = args.repeats or (1 if args.quick else 3)
    context = {**machine_context(), "quick": args.quick, "repeats": repeats}
    t0 = time.monotonic()
    figures = []
    with tempfile.TemporaryDirectory(prefix="sweeper-bench-") as tmp:
        for name in chosen:
            log(f"[bench] {name} …")
            figures += sections.run(name, Path(tmp) / name, args.quick, repeats, log)
    context["wall_s"] = time.monotonic() - t0
    context["load_average_after"] = list(os.getloadavg())
    title = (f"sweeper bench ({'quick' if args.quick else 'full'}; {context['cpus']} CPUs; load "
             f"average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; fixed Python loop "
             f"{context['python_loop_ms']:.1f} ms; {context['wall_s']:.0f} s)")  # fmt: skip
    print(table(figures, title))
    if args.json:
        write_json(args.json, figures, context)
    return 0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
