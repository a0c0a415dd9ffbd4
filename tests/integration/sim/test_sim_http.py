"""The simulator as a real process: OpenAI-compatible streaming, ground truth, /metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.sim import SimProcess, running_sim
from tests.integration.sim.sse_client import Received, stream

COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
PROMPT = " ".join(["word"] * 256)


def metric_values(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name
            if "finished_reason" in sample.labels:
                key += ":" + sample.labels["finished_reason"]
            values[key] = values.get(key, 0.0) + sample.value
    return values


async def _many(
    sim: SimProcess, bodies: list[tuple[str, dict]], concurrency: int
) -> list[Received]:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, path: str, body: dict) -> Received:
        async with sem:
            return await stream(session, sim.base, path, body, f"req-{i}")

    async with aiohttp.ClientSession() as session:
        return await asyncio.gather(*(one(i, p, b) for i, (p, b) in enumerate(bodies)))


def test_models_and_health_say_simulated(fast_sim: SimProcess) -> None:
    status, body = fast_sim.get("/v1/models")
    card = json.loads(body)["data"][0]
    assert status == 200
    assert card["id"] == "sim-test"
    assert card["simulated"] is True
    assert fast_sim.get("/health")[0] == 200
    metrics = fast_sim.get("/metrics")[1].decode()
    assert (
        'sim_info{model_name="sim-test",engine="0",simulated="true",profile="fast"} 1.0' in metrics
    )


def test_streaming_completion_and_chat_match_ground_truth(fast_sim: SimProcess) -> None:
    body = {
        "model": "sim-test",
        "prompt": PROMPT,
        "max_tokens": 20,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chat = {
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 12,
        "stream": True,
        "ignore_eos": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    got = asyncio.run(_many(fast_sim, [(COMPLETIONS, body), (CHAT, chat)], 2))
    comp, ch = got
    assert comp.status == 200 and comp.done
    assert comp.tokens == 20 and len(comp.chunk_ns) == 20
    assert comp.finish_reason == "length"
    assert comp.usage == {"prompt_tokens": 256, "total_tokens": 276, "completion_tokens": 20}
    assert ch.tokens == 12 and ch.done
    assert ch.events[0]["choices"][0]["delta"]["role"] == "assistant"
    # continuous usage: every chunk carries the running count
    assert [u["completion_tokens"] for u in ch.usages[:-1]] == list(range(1, 13))

    truth = {r["request_id"]: r for r in json.loads(fast_sim.get("/sim/requests")[1])}
    t0 = truth["req-0"]
    assert t0["output_tokens"] == 20 and t0["prompt_tokens"] == 256
    assert t0["chunk_tokens"] == [1] * 20
    # the server sent each chunk before the client read it, and after the client sent
    assert t0["arrival_ns"] >= comp.send_ns
    for server_ns, client_ns in zip(t0["chunk_ns"], comp.chunk_ns, strict=True):
        assert server_ns <= client_ns
    assert t0["arrival_ns"] <= t0["scheduled_ns"] <= t0["first_token_ns"] <= t0["first_chunk_ns"]
    assert truth["req-1"]["endpoint"] == CHAT


def test_metrics_parse_and_agree_with_the_client(fast_sim: SimProcess) -> None:
    bodies = [
        (COMPLETIONS, {"prompt": PROMPT, "max_tokens": 30, "stream": True}) for _ in range(24)
    ]
    got = asyncio.run(_many(fast_sim, bodies, 8))
    assert all(g.status == 200 and g.done for g in got)
    text = fast_sim.get("/metrics")[1].decode()
    values = metric_values(text)
    names = {f.name for f in text_string_to_metric_families(text)}
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens",
        "vllm:generation_tokens",
        "vllm:request_success",
        "vllm:num_preemptions",
        "vllm:prefix_cache_queries",
        "vllm:prefix_cache_hits",
        "vllm:time_to_first_token_seconds",
        "vllm:inter_token_latency_seconds",
        "vllm:e2e_request_latency_seconds",
        "vllm:request_queue_time_seconds",
    ):
        assert name in names, name
    received = sum(g.tokens for g in got)
    assert values["vllm:generation_tokens_total"] == received
    assert values["vllm:prompt_tokens_total"] == 24 * 256
    finished = {r: values[f"vllm:request_success_total:{r}"] for r in ("stop", "length")}
    assert finished["stop"] + finished["length"] == 24
    assert finished["stop"] == sum(g.finish_reason == "stop" for g in got)
    assert values["vllm:time_to_first_token_seconds_count"] == 24
    assert values["vllm:inter_token_latency_seconds_count"] == received - 24
    assert values["vllm:num_requests_running"] == 0
    # identical prompts: after the first, the shared full blocks come from the prefix cache
    assert values["vllm:prefix_cache_hits_total"] > 0


def test_errors_like_vllm(fast_sim: SimProcess) -> None:
    async def post(body: object, path: str = COMPLETIONS) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as s, s.post(fast_sim.base + path, json=body) as r:
            return r.status, await r.json()

    async def run() -> list[tuple[int, dict]]:
        return [
            await post({"prompt": PROMPT, "max_tokens": 8000}),
            await post({"prompt": "hi", "max_tokens": 0}),
            await post({"model": "other", "prompt": "hi"}),
            await post({"prompt": "hi", "stream_options": {"include_usage": True}}),
            await post({"messages": []}, CHAT),
        ]

    too_long, zero, wrong_model, options, no_messages = asyncio.run(run())
    assert (
        too_long[0] == 400 and "maximum context length is 8192" in too_long[1]["error"]["message"]
    )
    assert too_long[1]["error"]["type"] == "BadRequestError"
    assert zero[0] == 400 and zero[1]["error"]["param"] == "max_tokens"
    assert wrong_model[0] == 404 and wrong_model[1]["error"]["code"] == 404
    assert options[0] == 400 and no_messages[0] == 400


def test_sigterm_stops_fast_and_writes_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "truth.jsonl"
    with running_sim("--profile", "fast", "--ground-truth-out", str(out), log_dir=tmp_path) as sim:
        bodies = [(COMPLETIONS, {"prompt": "a b c", "max_tokens": 5, "stream": True})] * 3
        asyncio.run(_many(sim, bodies, 3))

        async def hang() -> None:  # a long stream still open at SIGTERM
            async with aiohttp.ClientSession() as session:
                task = asyncio.create_task(
                    stream(
                        session,
                        sim.base,
                        COMPLETIONS,
                        {"prompt": "x", "max_tokens": 8000, "ignore_eos": True, "stream": True},
                        "open",
                    )
                )
                await asyncio.sleep(0.3)
                took = await asyncio.to_thread(sim.stop)
                got = await task
                assert took < 1.5, took
                assert not got.done

        asyncio.run(hang())
        assert sim.proc.returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["request_id"] for r in rows] == ["req-0", "req-1", "req-2", "open"]
    assert all(r["output_tokens"] == 5 for r in rows[:3])
    assert 0 < rows[3]["output_tokens"] < 8000


def test_fast_sweep_40_requests_at_1_8_32(fast_sim: SimProcess) -> None:
    """The fast profile's promise: 40 × 256-in/128-out at concurrency 1, 8 and 32 in seconds."""
    body = {"prompt": PROMPT, "max_tokens": 128, "ignore_eos": True, "stream": True}
    t0 = time.monotonic()
    for concurrency in (1, 8, 32):
        got = asyncio.run(_many(fast_sim, [(COMPLETIONS, body)] * 40, concurrency))
        assert all(g.tokens == 128 for g in got)
    print(f"fast sweep 3 x 40 requests took {time.monotonic() - t0:.2f} s")


def test_multi_token_chunks(tmp_path: Path) -> None:
    with running_sim("--profile", "fast", "--tokens-per-chunk", "4", log_dir=tmp_path) as sim:
        body = {
            "prompt": "a b",
            "max_tokens": 10,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        (got,) = asyncio.run(_many(sim, [(COMPLETIONS, body)], 1))
        truth = json.loads(sim.get("/sim/requests?request_id=req-0")[1])[0]
    assert [text.count(" tok") for text in got.chunk_texts] == [4, 4, 2]
    assert truth["chunk_tokens"] == [4, 4, 2]
    assert got.usage is not None and got.usage["completion_tokens"] == 10


def test_client_disconnect_aborts_the_request(fast_sim: SimProcess) -> None:
    body = {"prompt": PROMPT, "max_tokens": 4000, "ignore_eos": True, "stream": True}

    async def read_three_chunks_and_leave() -> None:
        async with aiohttp.ClientSession() as session:
            resp = await session.post(
                fast_sim.base + COMPLETIONS, json=body, headers={"x-request-id": "leaver"}
            )
            seen = 0
            async for _ in resp.content.iter_any():
                seen += 1
                if seen >= 3:
                    break
            resp.close()  # drops the connection mid-stream

    asyncio.run(read_three_chunks_and_leave())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        values = metric_values(fast_sim.get("/metrics")[1].decode())
        if values["vllm:num_requests_running"] == 0:
            break
        time.sleep(0.05)
    assert values["vllm:num_requests_running"] == 0
    assert values["vllm:request_success_total:abort"] == 1
    assert values["vllm:kv_cache_usage_perc"] == 0.0
    truth = json.loads(fast_sim.get("/sim/requests?request_id=leaver")[1])[0]
    assert truth["status"] == 499 and truth["finish_reason"] == "abort"
    assert 0 < truth["output_tokens"] < 4000


def test_stats_give_step_lateness_and_the_collector(fast_sim: SimProcess) -> None:
    bodies = [(COMPLETIONS, {"prompt": PROMPT, "max_tokens": 10, "stream": True})] * 8
    got = asyncio.run(_many(fast_sim, bodies, 8))
    assert all(r.tokens == 10 for r in got)
    stats = json.loads(fast_sim.get("/sim/stats")[1])
    assert stats["simulated"] is True and stats["steps"] >= 10
    assert stats["lateness_samples"] == stats["steps"]
    assert "lateness_samples_ms" not in stats
    assert 0 <= stats["lateness_ms"]["p50"] <= stats["lateness_ms"]["max"]
    assert set(stats["gc"]) == {"full_passes", "under_load", "longest_ms"}
    full = json.loads(fast_sim.get("/sim/stats?samples=1")[1])
    samples = full["lateness_samples_ms"]
    assert len(samples) == stats["steps"] and max(samples) == full["lateness_ms"]["max"]


def test_last_token_done_and_body_end_go_in_one_write(fast_sim: SimProcess) -> None:
    """The last token's chunk, [DONE] and the end of the chunked body arrive together, and the
    connection serves the next request (keep-alive intact)."""
    host, port = fast_sim.base.removeprefix("http://").split(":")
    body = json.dumps({"prompt": PROMPT, "max_tokens": 5, "stream": True}).encode()
    request = (
        f"POST {COMPLETIONS} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            reads: list[bytes] = []
            while not b"".join(reads).endswith(b"\r\n0\r\n\r\n"):
                data = sock.recv(65536)
                assert data, "connection closed mid-response"
                reads.append(data)
            last = reads[-1]
            assert b"data: [DONE]" in last and last.count(b'"text"') >= 1, last
            assert b"".join(reads).count(b'"text"') == 5
