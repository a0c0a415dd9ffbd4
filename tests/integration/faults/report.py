"""The fault → outcome table: what each fault should do (the README's table) and what the suite
observed. `python -m tests.integration.faults.report` prints the expected table as Markdown."""

from __future__ import annotations

from dataclasses import dataclass

# key → (fault, what sweeper does); the README section "What happens when things go wrong"
# holds the same rows
EXPECTED: dict[str, tuple[str, str]] = {
    "start_exits": (
        "Server exits at once (bad argument)",
        "that job FAILED with the server log tail; the sweep goes on; the next job with the "
        "same server config starts it once more",
    ),
    "start_unhealthy": (
        "Server never becomes healthy",
        "that job FAILED after `server.ready_timeout_s` with the log tail; the server is "
        "stopped; the sweep goes on; the next job tries once more",
    ),
    "crash": (
        "Server crashes mid-benchmark (or an external one goes away)",
        "in-flight requests recorded as errors with a reason; the client stops sending once "
        "`load.max_connect_failures` (20) in a row got no answer; the job FAILED with the counts "
        "(`8 of 400 requests completed (2 %), 367 not sent: server (pid N) exited during the "
        "benchmark`), its records and files kept; the next job restarts the server",
    ),
    "stall": (
        "Server stalls (sends no bytes), or sends only SSE heartbeats",
        "the request fails after `load.idle_timeout_s` of silence (`idle_timeout`) or "
        "`load.request_timeout_s` in all (`timeout`, heartbeats included); the job goes on",
    ),
    "hung_reused": (
        "A reused server hangs or dies between jobs",
        "health-checked before each job (5 s): stopped and replaced, one warning line",
    ),
    "http_errors": (
        "HTTP 429/500 bursts, streams cut mid-response",
        "each request's error recorded and counted by reason (`http_429`, `http_500`, "
        "`incomplete_response`); the benchmark goes on; the job FINISHED with `failed` > 0",
    ),
    "bad_stream": (
        'Malformed SSE, truncated JSON, wrong-shape events (`123`, `{"choices":[null]}`), '
        "missing usage",
        "that request failed (`bad_event: …` quoting the event), the job keeps every record; "
        "missing usage: request kept, tokens counted per chunk and flagged "
        "(`itl_per_token: false`)",
    ),
    "huge_event": (
        "An event over `load.max_event_bytes` (8 MiB), a broken chunked body, a non-JSON error",
        "that request failed (`event_too_large`, `incomplete_response` at once, `http_502` / "
        "`bad_event`); memory stays bounded, parsing linear; the job keeps every record",
    ),
    "below_share": (
        "Most requests fail",
        "the job FAILED below `min_success_fraction` (0.25) with the counts and the most "
        "frequent error; records kept",
    ),
    "job_deadline": (
        "A job runs past `job_timeout_s` (24 h)",
        "the job FAILED (`job_timeout_s=… reached during the benchmark`); the sweep goes on",
    ),
    "disk": (
        "Job dir full or unwritable",
        "one line naming the path and the OS error; the job FAILED in MLflow and counted; "
        "exit code 1; the sweep goes on; files already written kept",
    ),
    "mlflow_dead": (
        "MLflow unreachable (`tracking.uri` at a dead port)",
        "jobs complete with their files intact; one warning per run within seconds; exit code 0",
    ),
    "mlflow_silent": (
        "MLflow accepts connections but never answers",
        "each tracking call gives up after `tracking.timeout_s` (default 10 s, no retries); "
        "the job completes, warning after the timeout",
    ),
    "analysis_sync": (
        "… then `python -m analysis` and `python -m analysis sync`",
        "analysis reads the job dirs; `sync` pushes them to MLflow later",
    ),
    "sigint": (
        "Ctrl-C (SIGINT) mid-sweep, also twice",
        "servers stopped, sweep run KILLED, the interrupted job KILLED, finished jobs intact; "
        "exit 130 within `server.stop_timeout_s` + 10 s; a second Ctrl-C does not cut the "
        "teardown short; no orphan process",
    ),
    "sigterm": (
        "SIGTERM or SIGHUP mid-sweep",
        "as Ctrl-C; exit 143 (SIGHUP: 129)",
    ),
    "sigkill": (
        "sweeper SIGKILLed mid-sweep",
        "its watchdog stops every process sweeper started (servers with all their descendants, "
        "vLLM's EngineCore, wrappers that ignore SIGTERM, client workers) within seconds; "
        "finished jobs' files intact",
    ),
    "atomic": (
        "Job killed while writing its files",
        "files are written to a temp file and renamed: never a half-written `result.json`",
    ),
    "unknown_key": (
        "Unknown key (`nosuchkey=1`, `+load.nosuch=1`)",
        "one line naming the key, before any server starts (exit 2 at composition; a key "
        "added with `+` fails the job)",
    ),
    "wrong_type": ("Wrong type (`concurrency=abc`)", "one line naming the key and value (exit 2)"),
    "negative": (
        "Negative concurrency",
        "the job FAILED in one line (`concurrency: must be >= 1`), before any server starts",
    ),
    "empty_dataset": (
        "Empty dataset file",
        "the job FAILED in one line naming the file, before any server starts",
    ),
    "corrupt_dataset": (
        "Corrupt dataset file",
        "the job FAILED in one line naming the file and line, before any server starts",
    ),
    "no_tokenizer": (
        "Missing tokenizer path",
        "the job FAILED in one line naming `model.tokenizer`, before any server starts",
    ),
    "unknown_slo": (
        "Unknown SLO key (`slo.foo=1`, `+slo.foo=1`)",
        "one line naming the key, before any server starts",
    ),
    "api_key": (
        "A secret in an override, header, server env or body (`${oc.env:…}`, `Authorization`, "
        "`api_key`, `*_token`, …)",
        "`***` in MLflow params, tags, run names, result.json, `.hydra/`, logs and the copied "
        "server log; vLLM gets its key through `VLLM_API_KEY` (`server.api_key_env`), never argv",
    ),
    "proxy": (
        "`http_proxy` set, no `no_proxy`",
        "health checks, `/metrics` scrapes and cache resets of 127.0.0.1 go direct",
    ),
    "bind": ("Default server address", "started servers listen on 127.0.0.1 only"),
    "metachar": (
        "Config values with shell metacharacters",
        "reach the server's argv verbatim (argv list, no shell)",
    ),
    "leftovers": (
        "After any of the above",
        "no process started by sweeper remains (servers run in their own process group with a "
        "marker in their environment: SIGTERM, then SIGKILL of the group and of every marked "
        "descendant)",
    ),
}


@dataclass
class Row:
    key: str
    observed: str
    passed: bool | None = None


def markdown(rows: list[tuple[str, str]]) -> str:
    lines = ["| fault | what happens |", "|---|---|"]
    lines += [f"| {fault} | {outcome} |" for fault, outcome in rows]
    return "\n".join(lines)


def observed_table(rows: list[Row]) -> str:
    """Plain-text table for the terminal: fault, pass/fail, observed outcome."""
    seen: dict[str, list[Row]] = {}
    for r in rows:
        seen.setdefault(r.key, []).append(r)
    out = []
    for key, (fault, _) in EXPECTED.items():
        for row in seen.get(key, []):
            mark = {True: "ok", False: "FAILED", None: "?"}[row.passed]
            out.append(f"{mark:7} {fault}\n        → {row.observed}")
    missing = [fault for key, (fault, _) in EXPECTED.items() if key not in seen]
    if missing:
        out.append(f"not run: {'; '.join(missing)}")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(list(EXPECTED.values())))
