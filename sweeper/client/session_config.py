"""Schema of `load.sessions`: how multi-turn sessions are driven (sweeper.client.sessions).

The load's own keys keep their meaning per session: `concurrency` is the number of sessions
active at once (closed loop), `request_rate` the session arrival rate (open loop, with
`burstiness`), `num_prompts` the number of sessions, `duration_s` a time after which no new
turn starts (turns in flight finish; the sessions they cut short are counted as such),
`schedule=trace` the trace's own session start times.
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.errors import ConfigError
from instruments.options import option
from sweeper.datasets.distributions import Distribution

HISTORIES = ("generated", "reference")


@dataclass
class SessionLoadConfig:
    think_time_s: Distribution = option(
        help="seconds between the end of a turn and the start of the next (a distribution; "
        "a trace's own gaps win)",
        default_factory=Distribution,
    )
    history: str = option(
        "generated",
        "what a turn's history holds as the earlier answers: generated (the server's own "
        "answers) or reference (the dataset's answers; the server's where it has none)",
        choices=HISTORIES,
    )
    max_in_flight: int | None = option(
        None, "at most this many requests in flight over all sessions (null = no cap)", ge=1
    )
    warmup_sessions: int = option(
        0,
        "sessions (extra ones, drawn before the measured ones) run and awaited before the "
        "measured phase; excluded from results and from the prefix-cache hit rate",
        ge=0,
    )

    def check(self) -> None:
        self.think_time_s.check("load.sessions.think_time_s")
        if self.history not in HISTORIES:
            raise ConfigError(f"load.sessions.history: must be one of {HISTORIES}")
