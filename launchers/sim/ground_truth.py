"""Per-request ground truth, keyed by the `x-request-id` header, on `time.monotonic_ns()`.

`arrival_ns` is when the request's first bytes reached the server (the kernel's receive stamp, see
`polling_server.py`; the handler's start where there is none), `chunk_ns` just before each SSE
chunk is handed to the transport, `finish_ns` after the last byte of the response is written.
Served at GET /sim/requests and written as JSONL on shutdown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class RequestTruth:
    request_id: str
    endpoint: str
    arrival_ns: int
    status: int = 200
    error: str = ""
    fault: str = ""
    stream: bool = False
    prompt_tokens: int = 0
    max_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    num_preemptions: int = 0
    finish_reason: str | None = None
    scheduled_ns: int = 0
    # the engine step that produced the first token ended (server-side TTFT end)
    first_token_ns: int = 0
    # first content-bearing chunk handed to the transport
    first_chunk_ns: int = 0
    chunk_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    finish_ns: int = 0


class GroundTruth:
    def __init__(self) -> None:
        self._records: dict[str, RequestTruth] = {}
        self._anonymous = 0

    def new(self, request_id: str | None, endpoint: str, arrival_ns: int) -> RequestTruth:
        if not request_id:
            self._anonymous += 1
            request_id = f"anon-{self._anonymous}"
        elif request_id in self._records:
            # a reused id keeps every record: the later ones get a suffix
            suffix = 2
            while f"{request_id}#{suffix}" in self._records:
                suffix += 1
            request_id = f"{request_id}#{suffix}"
        record = RequestTruth(request_id, endpoint, arrival_ns)
        self._records[request_id] = record
        return record

    def __len__(self) -> int:
        return len(self._records)

    def get(self, request_id: str) -> RequestTruth | None:
        return self._records.get(request_id)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self._records.values()]

    def clear(self) -> None:
        self._records.clear()

    def write_jsonl(self, path: str | Path) -> int:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for record in self._records.values():
                fh.write(json.dumps(asdict(record), separators=(",", ":")) + "\n")
        tmp.replace(target)
        return len(self._records)
