"""The bench's figures beside their targets: a table on stdout and the same as JSON."""

from __future__ import annotations

import json
import math
import os
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
    return {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())}
