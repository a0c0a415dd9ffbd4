"""`python -m launchers.sim`: the command line (one option per `SimParams` field) and the server
lifecycle (SIGTERM/SIGINT → stop within ~1 s, ground truth written)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import signal
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instruments.rxstamp import listen_socket
from launchers.cpus import cpu_list
from launchers.sim.collector import IdleCollector
from launchers.sim.http_app import build_app
from launchers.sim.polling_server import install_poll
from launchers.sim.profiles import PROFILES, SimParams, param_fields, resolve
from launchers.sim.prompt_tokens import PromptTokenizer
from launchers.sim.state import SimState
from launchers.sim.timed_selector import TimedSelector

log = logging.getLogger("launchers.sim")

# options that are not simulator parameters
FIXED_OPTIONS = (
    "host",
    "port",
    "served_model_name",
    "profile",
    "ground_truth_out",
    "tokenizer",
    "log_level",
    "cpus",
)
# how long open connections get to finish once a stop is asked for
SHUTDOWN_GRACE_S = 0.3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m launchers.sim",
        description="A vLLM-like OpenAI-compatible server whose numbers are simulated.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default="sim-model")
    parser.add_argument("--profile", default="default", choices=sorted(PROFILES))
    parser.add_argument("--ground-truth-out", default=None, help="JSONL written on shutdown")
    parser.add_argument("--tokenizer", default=None, help="local folder with tokenizer.json")
    parser.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    parser.add_argument(
        "--cpus",
        default=None,
        type=cpu_list,
        metavar="LIST",
        help="run on these CPUs only, e.g. 0 or 0,2-3: a load generator on the others then "
        "never keeps the step clock waiting for a core",
    )
    group = parser.add_argument_group("simulator parameters (default: the profile's value)")
    for name, kind in param_fields().items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            group.add_argument(flag, type=kind, default=None, metavar=kind.__name__.upper())
    return parser


def parse(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, SimParams]:
    parser = build_parser()
    opts = parser.parse_args(argv)
    overrides: dict[str, Any] = {name: getattr(opts, name) for name in param_fields()}
    try:
        params = resolve(opts.profile, overrides)
    except ValueError as exc:
        parser.error(str(exc))
    return opts, params


async def serve(
    opts: argparse.Namespace,
    params: SimParams,
    tokenizer: PromptTokenizer,
    selector: TimedSelector | None = None,
) -> int:
    state = SimState(
        params, opts.served_model_name, opts.profile, tokenizer, selector, IdleCollector()
    )
    runner = web.AppRunner(
        build_app(state), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S
    )
    await runner.setup()
    install_poll(runner, state.engine.poll)
    try:
        # accepted connections stamp what they receive: requests' arrival times (ground truth)
        sock = listen_socket(opts.host, opts.port)
        site = web.SockSite(runner, sock, shutdown_timeout=SHUTDOWN_GRACE_S)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        log.error("cannot listen on %s:%s: %s", opts.host, opts.port, exc.strerror or exc)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    collector = state.collector
    if collector is not None:
        # full garbage collections run when the engine is idle (see collector.py)
        collector.start()

        def collect_tick() -> None:
            collector.offer(idle=state.engine.idle)
            loop.call_later(1.0, collect_tick)

        loop.call_later(1.0, collect_tick)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "simulated vLLM (profile %s, model %s) listening on http://%s:%d; tokens counted by %s",
        opts.profile,
        opts.served_model_name,
        opts.host,
        opts.port,
        f"tokenizer {opts.tokenizer}" if tokenizer.exact else "the built-in estimate",
    )
    await stop.wait()
    log.info("stopping")
    state.stop()
    await runner.cleanup()
    if collector is not None:
        collector.close()
    if opts.ground_truth_out:
        count = state.truth.write_jsonl(opts.ground_truth_out)
        log.info("ground truth of %d requests written to %s", count, opts.ground_truth_out)
    return 0


def raise_open_file_limit() -> None:
    """Thousands of concurrent streams need thousands of sockets (vLLM raises it too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: Sequence[str] | None = None) -> int:
    opts, params = parse(argv)
    if opts.cpus:
        try:
            os.sched_setaffinity(0, opts.cpus)
        except (OSError, AttributeError) as exc:  # a CPU that is not there, or not Linux
            build_parser().error(f"--cpus {sorted(opts.cpus)}: {exc}")
    raise_open_file_limit()
    logging.basicConfig(
        stream=sys.stderr,
        level=opts.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        tokenizer = PromptTokenizer(opts.tokenizer)
    except ValueError as exc:
        build_parser().error(str(exc))
    selector = TimedSelector()
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector)) as runner:
        return runner.run(serve(opts, params, tokenizer, selector))
