"""`/metrics` in Prometheus text format with vLLM V1's metric names, labels and bucket bounds.

Hand-rolled (no locks, a bisect per observation) because observations happen on the engine's
hot path; the output is checked against prometheus_client's parser in the tests.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from launchers.sim.scheduler import Scheduler, SimRequest
from launchers.sim.spec_decode import render_counters as render_spec_decode

# vLLM V1 (vllm/v1/metrics/loggers.py) bucket boundaries
# fmt: off
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0)
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0,
                           50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
ITERATION_TOKEN_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
# fmt: on


def buckets_1_2_5(limit: int) -> tuple[float, ...]:
    """vLLM's token-count buckets: 1, 2, 5, 10, 20, 50, ... up to `limit`."""
    out: list[float] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > limit:
                return tuple(out)
            out.append(float(value))
        exponent += 1


@dataclass(slots=True)
class Histogram:
    name: str
    doc: str
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def render(self, labels: str, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {self.doc}")
        out.append(f"# TYPE {self.name} histogram")
        cumulative = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            cumulative += n
            out.append(f'{self.name}_bucket{{{labels},le="{bound}"}} {float(cumulative)}')
        out.append(f'{self.name}_bucket{{{labels},le="+Inf"}} {float(self.count)}')
        out.append(f"{self.name}_count{{{labels}}} {float(self.count)}")
        out.append(f"{self.name}_sum{{{labels}}} {self.total!r}")


class SimMetrics:
    """Observes the scheduler's events; renders the exposition text."""

    def __init__(self, scheduler: Scheduler, model_name: str, profile: str) -> None:
        self.scheduler = scheduler
        self.labels = f'model_name="{_escape(model_name)}",engine="0"'
        self.profile = profile
        latency = REQUEST_LATENCY_BUCKETS
        sizes = buckets_1_2_5(scheduler.params.max_model_len)
        step_sizes = tuple(
            float(b)
            for b in ITERATION_TOKEN_BUCKETS
            if b <= scheduler.params.max_num_batched_tokens
        )
        h = Histogram
        # fmt: off
        self.ttft = h("vllm:time_to_first_token_seconds",
                      "Histogram of time to first token in seconds.", TTFT_BUCKETS)
        self.itl = h("vllm:inter_token_latency_seconds",
                     "Histogram of inter-token latency in seconds.", ITL_BUCKETS)
        self.e2e = h("vllm:e2e_request_latency_seconds",
                     "Histogram of e2e request latency in seconds.", latency)
        self.queue = h("vllm:request_queue_time_seconds",
                       "Histogram of time spent in WAITING phase for request.", latency)
        self.prefill = h("vllm:request_prefill_time_seconds",
                         "Histogram of time spent in PREFILL phase for request.", latency)
        self.decode = h("vllm:request_decode_time_seconds",
                        "Histogram of time spent in DECODE phase for request.", latency)
        self.inference = h("vllm:request_inference_time_seconds",
                           "Histogram of time spent in RUNNING phase for request.", latency)
        self.prompt_len = h("vllm:request_prompt_tokens",
                            "Number of prefill tokens processed.", sizes)
        self.output_len = h("vllm:request_generation_tokens",
                            "Number of generation tokens processed.", sizes)
        self.step_tokens = h("vllm:iteration_tokens_total",
                             "Histogram of number of tokens per engine_step.", step_sizes)
        self.histograms = (self.ttft, self.itl, self.e2e, self.queue, self.prefill, self.decode,
                           self.inference, self.prompt_len, self.output_len, self.step_tokens)
        # fmt: on
        scheduler.on_scheduled = self._scheduled
        scheduler.on_token = self._token
        scheduler.on_finish = self._finish
        scheduler.on_step = self.observe_step

    def _scheduled(self, req: SimRequest, now_ns: int) -> None:
        self.queue.observe((now_ns - req.arrival_ns) / 1e9)

    def _token(self, req: SimRequest, now_ns: int) -> None:
        if req.num_output == 1:
            self.ttft.observe((now_ns - req.arrival_ns) / 1e9)
        else:
            self.itl.observe((now_ns - req.last_token_ns) / 1e9)

    def _finish(self, req: SimRequest, now_ns: int) -> None:
        if req.finish_reason == "abort":
            return
        self.e2e.observe((now_ns - req.arrival_ns) / 1e9)
        self.prefill.observe((req.first_token_ns - req.scheduled_ns) / 1e9)
        self.decode.observe((now_ns - req.first_token_ns) / 1e9)
        self.inference.observe((now_ns - req.scheduled_ns) / 1e9)
        self.prompt_len.observe(req.prompt_len)
        self.output_len.observe(req.num_output)

    def observe_step(self, scheduled_tokens: int) -> None:
        self.step_tokens.observe(scheduled_tokens)

    def render(self) -> str:
        s = self.scheduler
        lab = self.labels
        out: list[str] = []

        def gauge(name: str, doc: str, value: float, labels: str = lab) -> None:
            out.extend(
                (f"# HELP {name} {doc}", f"# TYPE {name} gauge", f"{name}{{{labels}}} {value!r}")
            )

        def counter(name: str, doc: str, value: float) -> None:
            out.extend(
                (
                    f"# HELP {name}_total {doc}",
                    f"# TYPE {name}_total counter",
                    f"{name}_total{{{lab}}} {float(value)!r}",
                )
            )

        gauge(
            "sim_info",
            "Labels this server as the sweeper simulator: its numbers are simulated.",
            1.0,
            f'{lab},simulated="true",profile="{_escape(self.profile)}"',
        )
        gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            float(len(s.running)),
        )
        gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            float(len(s.waiting)),
        )
        gauge(
            "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", s.pool.usage
        )
        counter(
            "vllm:num_preemptions",
            "Cumulative number of preemption from the engine.",
            s.stats.preemptions,
        )
        counter("vllm:prompt_tokens", "Number of prefill tokens processed.", s.stats.prompt_tokens)
        counter(
            "vllm:generation_tokens",
            "Number of generation tokens processed.",
            s.stats.generation_tokens,
        )
        counter(
            "vllm:prefix_cache_queries",
            "Prefix cache queries, in terms of number of queried tokens.",
            s.pool.queries_tokens,
        )
        counter(
            "vllm:prefix_cache_hits",
            "Prefix cache hits, in terms of number of cached tokens.",
            s.pool.hits_tokens,
        )
        render_spec_decode(s, counter)
        # counters are written as prometheus_client writes them: TYPE names the _total series
        name = "vllm:request_success"
        out.append(f"# HELP {name}_total Count of successfully processed requests.")
        out.append(f"# TYPE {name}_total counter")
        for reason in ("stop", "length", "abort"):
            value = float(s.stats.finished[reason])
            out.append(f'{name}_total{{{lab},finished_reason="{reason}"}} {value!r}')
        p = s.params
        gauge(
            "vllm:cache_config_info",
            "Information of the LLMEngine CacheConfig",
            1.0,
            f'{lab},block_size="{p.block_size}",num_gpu_blocks="{p.num_gpu_blocks}",'
            f'enable_prefix_caching="{p.enable_prefix_caching}"',
        )
        for hist in self.histograms:
            hist.render(lab, out)
        out.append("")
        return "\n".join(out)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
