"""The simulator's aiohttp application: vLLM's routes plus /sim/* for ground truth and stats."""

from __future__ import annotations

import time
from dataclasses import asdict

from aiohttp import web

from launchers.sim.generation import handle_generation
from launchers.sim.polling_server import clear_arrival
from launchers.sim.pooling import add_routes as add_pooling_routes
from launchers.sim.state import SimState


async def health(request: web.Request) -> web.Response:
    state: SimState = request.app["sim"]
    elapsed_s = (time.monotonic_ns() - state.started_ns) / 1e9
    if elapsed_s < state.params.slow_start_s or state.stopping:
        return web.Response(status=503)
    return web.Response(status=200)


async def models(request: web.Request) -> web.Response:
    state: SimState = request.app["sim"]
    card = {
        "id": state.model_name,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "vllm",
        "root": state.model_name,
        "parent": None,
        "max_model_len": state.params.max_model_len,
        "simulated": True,
        "sim_profile": state.profile,
    }
    return web.json_response({"object": "list", "data": [card]})


async def metrics(request: web.Request) -> web.Response:
    state: SimState = request.app["sim"]
    return web.Response(
        text=state.metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Simulated": "true"},
    )


async def reset_prefix_cache(request: web.Request) -> web.Response:
    request.app["sim"].scheduler.pool.reset_prefix_cache()
    return web.Response(status=200)


async def version(request: web.Request) -> web.Response:
    return web.json_response({"version": "sim", "simulated": True})


async def sim_requests(request: web.Request) -> web.Response:
    """Ground truth of every request so far, or of one (`?request_id=...`)."""
    state: SimState = request.app["sim"]
    request_id = request.query.get("request_id")
    if request_id is None:
        return web.json_response(state.truth.as_dicts())
    record = state.truth.get(request_id)
    if record is None:
        return web.json_response({"error": f"no request with id {request_id!r}"}, status=404)
    return web.json_response([asdict(record)])


def percentiles_ms(values_ns: list[int]) -> dict[str, float]:
    ordered = sorted(values_ns)
    if not ordered:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    n = len(ordered)
    out = {name: ordered[min(n - 1, int(q * n))] / 1e6 for name, q in QUANTILES}
    out["max"] = ordered[-1] / 1e6
    return out


QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


async def sim_stats(request: web.Request) -> web.Response:
    """Engine figures: step lateness, split into what a step inherited from the late step
    before it (catch-up) and what it added fresh; the fresh part split again into the OS's
    wake-up delay (timed selector) and the loop's own backlog. Busy time, counters."""
    state: SimState = request.app["sim"]
    engine = state.engine
    s = state.scheduler.stats
    lateness = list(engine.lateness_ns)
    wake = list(engine.wake_delay_ns)
    inherited = list(engine.inherited_ns)
    # fresh = what a step added on top of the lateness it inherited from the step before
    fresh = [total - i for total, i in zip(lateness, inherited, strict=True)]
    backlog = [max(0, f - w) for f, w in zip(fresh, wake, strict=True)]
    # ?samples=1: every kept step's lateness too (ms), for benchmarks that pool several windows
    samples = request.query.get("samples") == "1"
    return web.json_response(
        {
            **({"lateness_samples_ms": [ns / 1e6 for ns in lateness]} if samples else {}),
            "simulated": True,
            "profile": state.profile,
            "steps": s.steps,
            "lateness_samples": len(lateness),
            "lateness_ms": percentiles_ms(lateness),
            "lateness_split_available": engine.selector is not None,
            "inherited_ms": percentiles_ms(inherited),
            "fresh_lateness_ms": percentiles_ms(fresh),
            "os_wake_delay_ms": percentiles_ms(wake),
            "loop_backlog_ms": percentiles_ms(backlog),
            "engine_busy_s": engine.busy_ns / 1e9,
            "gc": state.collector.stats() if state.collector else None,
            # CPU the whole simulator process used (user + system), for headroom figures
            "process_cpu_s": time.process_time(),
            "uptime_s": (time.monotonic_ns() - state.started_ns) / 1e9,
            "preemptions": s.preemptions,
            "prompt_tokens": s.prompt_tokens,
            "generation_tokens": s.generation_tokens,
            "finished": s.finished,
            "running": len(state.scheduler.running),
            "waiting": len(state.scheduler.waiting),
            "kv_cache_usage": state.scheduler.pool.usage,
            "requests_received": state.num_received,
        }
    )


async def sim_stats_reset(request: web.Request) -> web.Response:
    request.app["sim"].engine.reset_lateness()
    return web.Response(status=200)


def build_app(state: SimState) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[clear_arrival])
    app["sim"] = state

    async def completions(request: web.Request) -> web.StreamResponse:
        return await handle_generation(request, chat=False)

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        return await handle_generation(request, chat=True)

    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/version", version)
    app.router.add_post("/reset_prefix_cache", reset_prefix_cache)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/chat/completions", chat_completions)
    add_pooling_routes(app)
    app.router.add_get("/sim/requests", sim_requests)
    app.router.add_get("/sim/stats", sim_stats)
    app.router.add_post("/sim/stats/reset", sim_stats_reset)
    return app
