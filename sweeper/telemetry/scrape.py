"""Scrape a server's Prometheus `/metrics` during a job, in a thread of its own.

The thread only fetches and keeps the `vllm:` lines (a blocking socket read that releases the
GIL, and a line filter of ~1 ms per 55 KB scrape); parsing with prometheus_client's text parser
(5-20 ms a scrape) happens in `stop()`, after the benchmark, so the client's event loop does not
compete with it for the GIL. `prefixes=("",)` keeps every metric. Proxy settings are ignored
(`instruments.http.direct`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from instruments.http import direct

log = logging.getLogger(__name__)

COLUMNS = ["t_ns", "name", "labels", "value"]


@dataclass
class _Scrape:
    t_ns: int
    text: str


@dataclass
class ScrapeStats:
    scrapes: int = 0
    errors: int = 0
    last_error: str | None = None
    # seconds one fetch took, to show the scraper's own cost
    fetch_s: list[float] = field(default_factory=list)


class MetricsScraper:
    """`MetricsScraper("http://127.0.0.1:8000/metrics", 1.0)`; `start()`, then `stop()` returns
    the samples in long format: t_ns (monotonic), name, labels (JSON), value.

    Scrapes once at start and once at stop, so counters have a baseline and a final value.
    """

    def __init__(
        self,
        url: str,
        interval_s: float = 1.0,
        prefixes: tuple[str, ...] = ("vllm:",),
        timeout_s: float = 5.0,
        keep_buckets: bool = False,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"metrics_interval_s: must be > 0, got {interval_s}")
        self.url = url
        self.interval_s = interval_s
        self.prefixes = prefixes
        self.timeout_s = timeout_s
        self.keep_buckets = keep_buckets
        self._wanted = wanted_lines(prefixes, keep_buckets)
        self.stats = ScrapeStats()
        self._scrapes: list[_Scrape] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("MetricsScraper already started")
        self._scrape_once()
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)
        self._thread.start()

    def stop(self) -> pd.DataFrame:
        """Stop the thread, take a final scrape, parse everything."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._scrape_once()
        return self.frame()

    def latest(self) -> tuple[int, str] | None:
        """The newest scrape as (t_ns, its kept lines); safe from another thread."""
        scrapes = self._scrapes
        return (scrapes[-1].t_ns, scrapes[-1].text) if scrapes else None

    def frame(self) -> pd.DataFrame:
        rows: list[tuple[int, str, str, float]] = []
        for scrape in self._scrapes:
            rows.extend(parse(scrape.text, scrape.t_ns))
        df = pd.DataFrame(rows, columns=COLUMNS)
        return df.astype({"t_ns": "int64", "name": "str", "labels": "str", "value": "float64"})

    def _run(self) -> None:
        next_t = time.monotonic() + self.interval_s
        while not self._stop.wait(max(0.0, next_t - time.monotonic())):
            self._scrape_once()
            next_t += self.interval_s
            if next_t < time.monotonic():  # a slow fetch: skip missed ticks, don't burst
                next_t = time.monotonic() + self.interval_s

    def _scrape_once(self) -> None:
        started = time.monotonic()
        try:
            with direct.open(self.url, timeout=self.timeout_s) as resp:  # no proxy
                body = resp.read().decode("utf-8", errors="replace")
        except Exception as e:  # a scrape failure must never fail the job
            self.stats.errors += 1
            self.stats.last_error = f"{type(e).__name__}: {e}"
            if self.stats.errors == 1:
                log.warning("scraping %s failed: %s", self.url, self.stats.last_error)
            return
        t_ns = time.monotonic_ns()
        self.stats.fetch_s.append(time.monotonic() - started)
        self.stats.scrapes += 1
        self._scrapes.append(_Scrape(t_ns, self._keep(body)))

    def _keep(self, body: str) -> str:
        """The lines worth parsing later: TYPE lines and samples of the wanted prefixes, less
        `_created` timestamps and (unless `keep_buckets`) histogram buckets, which would
        triple the parsing time at `stop()`. One regex scan (C), not a loop over lines: the
        scraper thread holds the GIL the client's loop needs for as short as it can."""
        return "\n".join(self._wanted.findall(body)) + "\n"


def wanted_lines(prefixes: tuple[str, ...], keep_buckets: bool) -> re.Pattern[str]:
    """`# TYPE` lines of the prefixes' metrics and their samples, less `_created` (and, unless
    `keep_buckets`, `_bucket`) series."""
    alt = "|".join(re.escape(p) for p in prefixes)
    skip = "(?<!_created)" + ("" if keep_buckets else "(?<!_bucket)")
    return re.compile(
        rf"^# TYPE (?:{alt})[^\n]*|^(?:{alt})[A-Za-z0-9_:]*{skip}(?=[{{ ])[^\n]*", re.M
    )


def parse(text: str, t_ns: int) -> list[tuple[int, str, str, float]]:
    """Prometheus text → (t_ns, sample name, labels as sorted JSON, value) rows; the
    `_created` timestamps of counters are left out."""
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = json.dumps(sample.labels, sort_keys=True)
            rows.append((t_ns, sample.name, labels, float(sample.value)))
    return rows
