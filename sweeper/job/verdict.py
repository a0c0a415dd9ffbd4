"""Whether a measured job is FINISHED or FAILED, and why: the rules of the job's status.

A job is FINISHED when its server stayed up, the client was not stopped early, and at least
`min_success_fraction` of its measured requests completed. Otherwise it is FAILED with the
counts and the reason, e.g. `8 of 400 requests completed (2 %): server (pid 81) exited during
the benchmark`; what was measured is kept either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sweeper.records import RequestRecord

# this many connection failures in a row at the end of a benchmark: the server is gone (also
# one sweeper did not start, server=external)
GONE_AFTER = 10


@dataclass
class Verdict:
    status: str
    error: str = ""


def share_text(completed: int, total: int) -> str:
    """`8 of 400 requests completed (2 %)`; the percentage is floored so that 399 of 400 is
    never shown as 100 %."""
    pct = int(100 * completed / total) if total else 0
    return f"{completed} of {total} requests completed ({pct} %)"


def top_error(summary: dict[str, Any]) -> str:
    errors = summary.get("sweeper", {}).get("errors_by_reason", {})
    if isinstance(errors, dict) and errors:
        return str(max(errors.items(), key=lambda kv: kv[1])[0])
    return "unknown error"


def unreachable(measured: Sequence[RequestRecord]) -> str | None:
    """Why the server looks gone, from the records: a run of connection failures that lasted
    to the end of the benchmark; None otherwise."""
    run = 0
    for rec in sorted(measured, key=lambda r: r.t_dispatch_ns, reverse=True):
        if not rec.error.startswith("connect_error"):
            break
        run += 1
    if run < GONE_AFTER:
        return None
    return f"the server stopped accepting connections (the last {run} requests: connect_error)"


def judge(
    summary: dict[str, Any], min_success_fraction: float, stopped: str | None, not_sent: int = 0
) -> Verdict:
    """The status of a job that ran its benchmark, from its summary (`completed` and `failed`
    count the measured requests). `stopped`: why the benchmark is not to be trusted whatever
    completed (the server exited, it stopped answering), None when nothing says so;
    `not_sent`: the requests the client never started because it stopped early.
    """
    completed = int(summary.get("completed", 0))
    total = completed + int(summary.get("failed", 0)) + not_sent
    if stopped is not None:
        unsent = f", {not_sent} not sent" if not_sent else ""
        return Verdict("FAILED", f"{share_text(completed, total)}{unsent}: {stopped}")
    if completed == 0:
        return Verdict("FAILED", "no request completed: " + top_error(summary))
    if completed < min_success_fraction * total:
        return Verdict(
            "FAILED",
            f"{share_text(completed, total)}, below min_success_fraction="
            f"{min_success_fraction:g}; most frequent error: {top_error(summary)}",
        )
    return Verdict("FINISHED")
