"""Regression gates on a comparison: `--fail-on 'p99_ttft_ms:+10%,output_throughput:-5%'`.

A gate `METRIC:+N%` fails when B's value is more than N % above A's (higher is worse: latencies),
`METRIC:-N%` when it is more than N % below (lower is worse: throughputs), at any matched grid
point. With repeats on both sides (n >= 2) a point fails only when the difference is also
significant (Welch's t-test at `--alpha`); single runs are judged on the threshold alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from analysis.compare import Comparison, format_side, to_markdown
from analysis.errors import AnalysisError
from analysis.grid import format_value

GATE = re.compile(r"\s*([A-Za-z0-9_.]+)\s*:\s*([+-])\s*(\d+(?:\.\d+)?)\s*%\s*")


@dataclass(frozen=True)
class Gate:
    metric: str
    # +1: an increase is a regression; -1: a decrease is
    direction: int
    limit_pct: float

    @property
    def text(self) -> str:
        return f"{'+' if self.direction > 0 else '-'}{self.limit_pct:g}%"


@dataclass(frozen=True)
class GateCheck:
    point: str
    metric: str
    mean_a: float
    mean_b: float
    change_pct: float
    gate: str
    significant: bool | None
    failed: bool


def parse_fail_on(spec: str) -> list[Gate]:
    """`p99_ttft_ms:+10%,output_throughput:-5%` → gates; a bad item is one AnalysisError."""
    gates = []
    for item in spec.split(","):
        match = GATE.fullmatch(item)
        if match is None:
            raise AnalysisError(
                f"--fail-on: {item.strip()!r} is not METRIC:+N% or METRIC:-N% "
                "(e.g. p99_ttft_ms:+10%,output_throughput:-5%)"
            )
        name, sign, pct = match.groups()
        gates.append(Gate(name.removeprefix("metrics."), 1 if sign == "+" else -1, float(pct)))
    return gates


def point_of(cmp: Comparison, row: Any) -> str:
    return ", ".join(f"{k}={format_value(row[k])}" for k in cmp.keys) or "all"


def check_gates(cmp: Comparison, gates: list[Gate]) -> list[GateCheck]:
    """Every gate at every matched point of `cmp` (points where a side has no value pass)."""
    checks = []
    for gate in gates:
        rows = cmp.table[cmp.table["metric"] == gate.metric]
        for _, row in rows.iterrows():
            change = 100 * (row["ratio"] - 1) if math.isfinite(row["ratio"]) else math.nan
            repeats = row["n_a"] >= 2 and row["n_b"] >= 2
            significant = row["significant"] if repeats else None
            beyond = math.isfinite(change) and gate.direction * change > gate.limit_pct
            failed = bool(beyond and (not repeats or significant is True))
            checks.append(
                GateCheck(
                    point_of(cmp, row),
                    gate.metric,
                    float(row["mean_a"]),
                    float(row["mean_b"]),
                    change,
                    gate.text,
                    None if significant is None else bool(significant),
                    failed,
                )
            )
    return checks


def gates_markdown(cmp: Comparison, checks: list[GateCheck]) -> str:
    """A PR comment: the verdict, the gate table, the whole comparison folded below."""
    failed = [c for c in checks if c.failed]
    verdict = "❌ FAIL" if failed else "✅ PASS"
    lines = [
        f"### compare {cmp.a_name} → {cmp.b_name}: {verdict}",
        "",
        f"{len(failed)} of {len(checks)} gate checks failed (B worse than A beyond the gate).",
        "",
        *(
            [
                f"Not gated: {len(cmp.only_a)} point(s) of A missing from B (skipped or failed "
                f"there): {'; '.join(cmp.only_a)}.",
                "",
            ]
            if cmp.only_a
            else []
        ),
        "| point | metric | A | B | change | gate | significant | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        sig = {True: "yes", False: "no"}.get(c.significant, "—")  # type: ignore[arg-type]
        change = "—" if math.isnan(c.change_pct) else f"{c.change_pct:+.1f}%"
        lines.append(
            f"| {c.point} | {c.metric} | {format_side(c.mean_a, math.nan)} | "
            f"{format_side(c.mean_b, math.nan)} | {change} | {c.gate} | {sig} | "
            f"{'❌ fail' if c.failed else 'ok'} |"
        )
    lines += ["", "<details><summary>all metrics</summary>", "", to_markdown(cmp), "", "</details>"]
    return "\n".join(lines)


def gates_json(cmp: Comparison, checks: list[GateCheck]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    rows = [{k: clean(v) for k, v in r.items()} for r in cmp.table.to_dict(orient="records")]
    return {
        "a": cmp.a_name,
        "b": cmp.b_name,
        "failed": any(c.failed for c in checks),
        "gates": [{k: clean(v) for k, v in asdict(c).items()} for c in checks],
        "comparison": rows,
        "only_a": cmp.only_a,
        "only_b": cmp.only_b,
    }
