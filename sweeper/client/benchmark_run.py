"""The result of one measured run, as `sweeper.metrics` and the job dir consume it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sweeper.client.config import LoadConfig
from sweeper.records import RequestRecord


@dataclass
class BenchmarkRun:
    """Everything `sweeper.metrics` needs; timestamps are absolute monotonic ns."""

    records: list[RequestRecord]
    t_start_ns: int
    t_end_ns: int
    model: str
    load: LoadConfig
    # start of the measured window (t_start + load.warmup_s)
    t_measure_start_ns: int = 0
    # CPU time the client process used between t_start and t_end (all threads)
    client_cpu_ns: int = 0
    # planned send offsets (s from t_start) of the open-loop schedule; empty for a closed loop
    planned_offsets_s: list[float] = field(default_factory=list)
    # how late a 5 ms timer fired, sampled through the run: the client's own event-loop delay
    # (what every timestamp may be late by when the client is the bottleneck)
    loop_lag_ms: list[float] = field(default_factory=list)
    # why the client stopped sending before the schedule's end, "" when it did not; today
    # "server_unreachable: N requests in a row got no answer (...)" (load.max_connect_failures)
    stopped_reason: str = ""
    # requests (warmup included) never sent because of that stop: they have no record (never
    # attempted, they are neither successes nor failures of the server)
    not_sent: int = 0

    @property
    def measured(self) -> list[RequestRecord]:
        return [r for r in self.records if not r.warmup]
