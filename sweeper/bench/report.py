"""The bench's figures beside their targets: a table on stdout and the same as JSON."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    key: str
    label: str
    value: float
    unit: str
    # the target (value must be <= it, or >= it when `at_least`); None: reported, no target
    target: float | None = None
    at_least: bool = False
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None or not math.isfinite(self.value):
            return "—"
        ok = self.value >= self.target if self.at_least else self.value <= self.target
        return "met" if ok else "missed"


def table(figures: list[Figure], title: str) -> str:
    head = f"{'figure':<58} {'value':>12} {'target':>12}  verdict"
    lines = [title, head, "-" * len(head)]
    for f in figures:
        target = "" if f.target is None else ("≥ " if f.at_least else "≤ ") + _num(f.target)
        value = f"{_num(f.value)} {f.unit}"
        lines.append(f"{f.label:<58} {value:>12} {target:>12}  {f.verdict}"
                     + (f"  ({f.note})" if f.note else ""))  # fmt: skip
    return "\n".join(lines)


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def write_json(path: Path, figures: list[Figure], context: dict[str, object]) -> None:
    data = {"context": context, "figures": {f.key: {**asdict(f), "verdict": f.verdict}
                                            for f in figures}}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=True))


def machine_context() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
            "python_loop_ms": python_loop_ms()}  # fmt: skip


def python_loop_ms(rounds: int = 5) -> float:
    """CPU ms of one fixed pure-Python loop, the best of `rounds`: how fast this machine runs
    Python now. A VM's speed changes from day to day (±30 % on ours), so figures from two days
    compare through it, not through the load average."""
    best = math.inf
    for _ in range(rounds):
        t0 = time.process_time_ns()
        _fixed_work()
        best = min(best, (time.process_time_ns() - t0) / 1e6)
    return best


def _fixed_work() -> int:
    """Arithmetic, a dict and a list in a loop: the kind of work a client's loop does."""
    seen: dict[int, int] = {}
    out: list[int] = []
    total = 0
    for i in range(200_000):
        total += i % 7
        seen[i & 1023] = total
        out.append(total & 255)
    return total + len(seen) + len(out)
