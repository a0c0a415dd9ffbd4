"""Is a job past the server's capacity? Signals from the client and the server, each a trend
over the job (or a level held through it), never one sample:

- `rate`: open loop, the completions per second in the steady part of the send window fall
  behind the requested rate, by more than `rate_shortfall` and by more than Poisson noise;
- `backlog`: open loop, the requests released and not yet answered (in flight + waiting for a
  client slot) grow through the job (Mann–Kendall z >= `trend_z`, rise >= `backlog_rise` and
  >= `growth` × the starting level);
- `queue_growth` / `queue`: the server's waiting queue (`vllm:num_requests_waiting` from the
  /metrics scrapes) grows through the job, or (closed loop only) has a median >= `queue_level`
  over it (the server holds requests back most of the time: more concurrency only adds
  queueing; an open loop near capacity holds a steady queue too, so there only growth counts);
- `ttft`: TTFT rises with send time (window medians; z >= `trend_z`, rise >= `ttft_rise` × the
  starting TTFT and >= `ttft_rise_ms`).

Any signal fired makes the job `saturated`; the reason names each. Jobs with fewer than
`min_requests` completed are judged on the queue level only. Pure functions on arrays: the job
calls `assess` after the run, the client's early stop (`sweeper.client.early_stop`) the same
trend tests on its per-second counters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from instruments.options import option
from sweeper.metrics.trend import Trend, trend, window_medians
from sweeper.records import RequestRecord

if TYPE_CHECKING:
    import pandas as pd

EARLY_STOP_MODES = ("open_loop", "always", "never")
WAITING_METRIC = "vllm:num_requests_waiting"
# points a trend needs before Mann–Kendall can reach z = 3 (9 rising points: z = 3.65)
MIN_POINTS = 9


@dataclass
class SaturationConfig:
    """Saturation detection, the early stop and skipping the points past the knee."""

    detect: bool = option(True, "judge every job saturated or not (result.json, MLflow)")
    early_stop: str = option(
        "open_loop",
        "stop sending once saturation is clear (records kept, job marked stopped_early): "
        "open_loop = for finite request rates only, always = closed loops too (server queue "
        "level), never",
        choices=EARLY_STOP_MODES,
    )
    skip_past_knee: bool = option(
        True,
        "in an ascending -m sweep of concurrency or request_rate, do not run the points above "
        "the first saturated one of the same server config (job dir + MLflow run SKIPPED)",
    )
    windows: int = option(
        12,
        "windows a job's send span is cut into for trends (>= 10: with the first left out, "
        "fewer points cannot reach trend_z 3)",
        ge=10,
        le=200,
    )
    min_requests: int = option(
        30, "completed requests a job needs before its trends are judged", ge=4
    )
    trend_z: float = option(3.0, "Mann–Kendall z a trend needs to count (3 ≈ p < 0.002)", gt=0)
    growth: float = option(
        0.5, "backlog / queue growth over the job, relative to its starting level", gt=0
    )
    backlog_rise: float = option(
        4.0, "backlog growth (requests) over the job that counts as saturation", gt=0
    )
    queue_rise: float = option(
        4.0, "server waiting-queue growth (requests) over the job that counts", gt=0
    )
    queue_level: float = option(
        1.0, "median server waiting queue (requests) over the job that counts", gt=0
    )
    ttft_rise: float = option(
        1.0, "TTFT rise over the job relative to its starting level (1.0 = doubled)", gt=0
    )
    ttft_rise_ms: float = option(
        20.0, "the least TTFT rise (ms) that counts, whatever the start", ge=0
    )
    rate_shortfall: float = option(
        0.1, "achieved completion rate below the requested rate by this share", gt=0, lt=1
    )
    check_interval_s: float = option(
        1.0, "seconds between two early-stop checks in the client", ge=0.1, le=60
    )
    min_check_s: float = option(
        8.0, "seconds of the measured phase before an early stop may be decided", ge=1
    )


@dataclass
class Signal:
    name: str
    fired: bool
    detail: str = ""
    figures: dict[str, float] = field(default_factory=dict)


@dataclass
class Saturation:
    saturated: bool
    reason: str
    figures: dict[str, float]

    def extras(self) -> dict[str, Any]:
        """result.json's `sweeper` keys."""
        return {
            "saturated": self.saturated,
            "saturation_reason": self.reason,
            "saturation": self.figures,
        }


@dataclass
class JobSeries:
    """A job's requests as arrays (monotonic ns; 0 = never happened), and the server's
    waiting queue as (t_ns, value) scrapes."""

    dispatch_ns: np.ndarray
    send_ns: np.ndarray
    first_ns: np.ndarray
    end_ns: np.ndarray
    success: np.ndarray
    waiting_t_ns: np.ndarray = field(default_factory=lambda: np.zeros(0))
    waiting: np.ndarray = field(default_factory=lambda: np.zeros(0))


def growth_fired(tr: Trend, cfg: SaturationConfig, rise_min: float) -> bool:
    return tr.growing(cfg.trend_z, max(rise_min, cfg.growth * max(tr.start, 0.0)))


def rise_text(what: str, tr: Trend, unit: str = "") -> str:
    """`backlog grew 10 → 60 requests (z=4.0)` (a steep fit can start below 0: shown as 0)."""
    return f"{what} {max(tr.start, 0):.0f} → {tr.start + tr.rise:.0f}{unit} (z={tr.z:.1f})"


def trend_figures(prefix: str, tr: Trend) -> dict[str, float]:
    return {f"{prefix}_z": round(tr.z, 3), f"{prefix}_rise": tr.rise, f"{prefix}_start": tr.start}


def rate_signal(
    s: JobSeries, requested: float, lo_ns: float, hi_ns: float, cfg: SaturationConfig
) -> Signal:
    """Completions per second over the last 80 % of the send span against `requested`."""
    start = lo_ns + 0.2 * (hi_ns - lo_ns)
    span_s = (hi_ns - start) / 1e9
    if not (math.isfinite(requested) and span_s > 0):
        return Signal("rate", False)
    ends = s.end_ns[s.success]
    got = int(np.count_nonzero((ends >= start) & (ends <= hi_ns)))
    expected = requested * span_s
    achieved = got / span_s
    short = expected - got
    fired = (
        expected >= 10 and got < (1 - cfg.rate_shortfall) * expected and short > 3 * expected**0.5
    )
    detail = f"completions {achieved:.3g}/s behind the requested {requested:g}/s"
    return Signal("rate", fired, detail, {"achieved_rate": achieved, "requested_rate": requested})


def backlog_at(s: JobSeries, at_ns: np.ndarray) -> np.ndarray:
    """Requests released and not yet ended at each time (in flight + client-queued)."""
    released = np.sort(s.dispatch_ns[s.dispatch_ns > 0])
    ended = np.sort(s.end_ns[s.end_ns > 0])
    return (
        np.searchsorted(released, at_ns, side="right") - np.searchsorted(ended, at_ns, side="right")
    ).astype(float)


def backlog_signal(s: JobSeries, lo_ns: float, hi_ns: float, cfg: SaturationConfig) -> Signal:
    """The backlog sampled through the send span; the first window (filling up) left out."""
    at = np.linspace(lo_ns, hi_ns, 4 * cfg.windows)
    x, y = window_medians(at, backlog_at(s, at), cfg.windows, lo_ns, hi_ns)
    tr = trend(x[1:] / 1e9, y[1:])
    fired = growth_fired(tr, cfg, cfg.backlog_rise)
    detail = rise_text("backlog grew", tr, " requests")
    return Signal("backlog", fired, detail, trend_figures("backlog", tr))


def queue_signals(s: JobSeries, lo_ns: float, hi_ns: float, cfg: SaturationConfig) -> list[Signal]:
    """The server's waiting queue through the send span: growing, or held."""
    inside = (s.waiting_t_ns >= lo_ns) & (s.waiting_t_ns <= hi_ns)
    t, q = s.waiting_t_ns[inside] / 1e9, s.waiting[inside]
    if q.size < 3:
        return []
    tr = trend(t, q)
    median = float(np.median(q))
    growing = Signal(
        "queue_growth",
        growth_fired(tr, cfg, cfg.queue_rise),
        rise_text("server queue grew", tr),
        trend_figures("queue", tr),
    )
    held = Signal(
        "queue",
        median >= cfg.queue_level,
        f"server queue held a median {median:g} waiting over {q.size} scrapes",
        {"queue_median": median},
    )
    return [growing, held]


def ttft_signal(s: JobSeries, lo_ns: float, hi_ns: float, cfg: SaturationConfig) -> Signal:
    ok = s.success & (s.first_ns > 0) & (s.send_ns > 0)
    ttft_ms = (s.first_ns[ok] - s.send_ns[ok]) / 1e6
    x, y = window_medians(s.send_ns[ok], ttft_ms, cfg.windows, lo_ns, hi_ns)
    tr = trend(x / 1e9, y)
    rise_min = max(cfg.ttft_rise_ms, cfg.ttft_rise * max(tr.start, 0.0))
    fired = tr.growing(cfg.trend_z, rise_min)
    detail = rise_text("TTFT rose", tr, " ms")
    return Signal("ttft", fired, detail, trend_figures("ttft_ms", tr))


def assess(
    s: JobSeries, requested_rate: float, open_loop: bool, cfg: SaturationConfig
) -> Saturation:
    """Every signal over the send span [first send, last send]; saturated when any fired."""
    sent = s.send_ns[s.send_ns > 0]
    if sent.size < 2:
        return Saturation(False, "", {})
    lo, hi = float(sent.min()), float(sent.max())
    signals: list[Signal] = []
    if int(np.count_nonzero(s.success)) >= cfg.min_requests:
        if open_loop:
            signals += [rate_signal(s, requested_rate, lo, hi, cfg), backlog_signal(s, lo, hi, cfg)]
        signals.append(ttft_signal(s, lo, hi, cfg))
    for sig in queue_signals(s, lo, hi, cfg):
        # a held queue is the closed loop's sign; an open loop below capacity holds one too
        # (bursts), so there only its growth counts
        sig.fired = sig.fired and not (open_loop and sig.name == "queue")
        signals.append(sig)
    figures: dict[str, float] = {}
    for sig in signals:
        figures.update(sig.figures)
    fired = [sig for sig in signals if sig.fired]
    return Saturation(bool(fired), "; ".join(f"{sig.name}: {sig.detail}" for sig in fired), figures)


def waiting_from_text(text: str) -> float | None:
    """The server's waiting queue from a /metrics text (summed over label sets); None when the
    server does not export it. A string scan, no parser: the early stop calls it in the loop."""
    total, seen = 0.0, False
    start = text.find(WAITING_METRIC)
    while start >= 0:
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name == WAITING_METRIC and (start == 0 or text[start - 1] == "\n"):
            try:
                total += float(line.rsplit(" ", 1)[-1])
                seen = True
            except ValueError:
                pass
        start = text.find(WAITING_METRIC, start + len(WAITING_METRIC))
    return total if seen else None


def job_series(records: list[RequestRecord], scrapes: pd.DataFrame | None) -> JobSeries:
    """A job's measured records and scraped /metrics frame (long: t_ns, name, labels, value)
    as the arrays `assess` reads."""

    def column(name: str) -> np.ndarray:
        return np.fromiter((getattr(r, name) for r in records), dtype=np.int64, count=len(records))

    series = JobSeries(
        dispatch_ns=column("t_dispatch_ns"),
        send_ns=column("t_send_ns"),
        first_ns=column("t_first_token_ns"),
        end_ns=column("t_end_ns"),
        success=np.fromiter((r.success for r in records), dtype=bool, count=len(records)),
    )
    if scrapes is not None and len(scrapes):
        rows = scrapes[scrapes["name"] == WAITING_METRIC]
        summed = rows.groupby("t_ns")["value"].sum()
        series.waiting_t_ns = summed.index.to_numpy(dtype=float)
        series.waiting = summed.to_numpy(dtype=float)
    return series


def is_open_loop(request_rate: float, ramp_up_strategy: str | None, schedule: str) -> bool:
    """Sends follow a clock (finite rate, ramp, trace) rather than answers (closed loop)."""
    return not math.isinf(request_rate) or ramp_up_strategy is not None or schedule == "trace"


def counter_verdict(
    t_ns: np.ndarray,
    backlog: np.ndarray,
    queue_t_ns: np.ndarray,
    queue: np.ndarray,
    open_loop: bool,
    cfg: SaturationConfig,
) -> str:
    """The early stop's test on its per-check samples: the reason to stop, or "". Open loop:
    the backlog (at least MIN_POINTS + 1 checks; the first window left out) or the server
    queue grows; closed loop: the server queue is held at `queue_level` or more."""
    if open_loop and t_ns.size >= MIN_POINTS + 1:
        lo, hi = float(t_ns[0]), float(t_ns[-1])
        x, y = window_medians(t_ns, backlog, min(cfg.windows, t_ns.size), lo, hi)
        tr = trend(x[1:] / 1e9, y[1:])
        if growth_fired(tr, cfg, cfg.backlog_rise):
            return rise_text("backlog grew", tr, " requests")
    if queue.size < 3:
        return ""
    if open_loop:
        tr = trend(queue_t_ns / 1e9, queue)
        if growth_fired(tr, cfg, cfg.queue_rise):
            return rise_text("server queue grew", tr)
        return ""
    median = float(np.median(queue))
    if median >= cfg.queue_level:
        return f"server queue held a median {median:g} waiting over {queue.size} scrapes"
    return ""
