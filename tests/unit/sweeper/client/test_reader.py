"""Streamed bodies are read inside `data_received` (sweeper.client.reader) where aiohttp allows
it, and the records are those of reading chunk by chunk in the coroutine."""

from __future__ import annotations

from typing import Any

import pytest

from sweeper.client import sender as sender_module
from tests.unit.sweeper.client.fake_openai import FakeBehaviour
from tests.unit.sweeper.client.test_runner import run, specs

FIELDS = ("success", "error", "output_len", "generated_text", "chunk_tokens", "server_prompt_len")


def test_the_callback_reader_is_used_and_gives_the_chunk_loop_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooked: list[Any] = []
    real = sender_module.hookable

    def spy(resp: Any) -> Any:
        proto = real(resp)
        hooked.append(proto)
        return proto

    monkeypatch.setattr(sender_module, "hookable", spy)
    fast, _ = run(FakeBehaviour(), specs(6, out=7), concurrency=3)
    assert hooked and all(p is not None for p in hooked)  # this aiohttp lets us
    monkeypatch.setattr(sender_module, "hookable", lambda resp: None)
    slow, _ = run(FakeBehaviour(), specs(6, out=7), concurrency=3)
    for a, b in zip(fast.records, slow.records, strict=True):
        assert [getattr(a, f) for f in FIELDS] == [getattr(b, f) for f in FIELDS]
        assert a.success and len(a.chunk_times_ns) == 7 and a.t_first_token_ns > a.t_send_ns
        assert a.chunk_times_ns == sorted(a.chunk_times_ns) and a.t_end_ns == a.chunk_times_ns[-1]
