from __future__ import annotations

import json

import pytest

from sweeper.features.metrics import pooling_throughput, split_by, structured_validity
from sweeper.features.structured import DEFAULT_SCHEMA, Constraint, is_valid
from sweeper.records import RequestRecord, RequestSpec

MS = 1_000_000


def record(i: int, ttft_ms: float, text: str = "", labels: dict | None = None) -> RequestRecord:
    t0 = 1_000 * MS
    first = t0 + int(ttft_ms * MS)
    rec = RequestRecord(index=i, request_id=str(i), prompt_len=10, expected_output_len=2)
    rec.t_send_ns, rec.t_first_token_ns, rec.t_end_ns = t0, first, first + 5 * MS
    rec.chunk_times_ns, rec.chunk_tokens = [first, first + 5 * MS], [1, 1]
    rec.output_len, rec.success, rec.generated_text = 2, True, text
    rec.labels = labels or {}
    return rec


def test_split_by_class() -> None:
    recs = [record(i, 10.0 * (i + 1), labels={"priority_class": "high" if i < 2 else "low"})
            for i in range(6)]  # fmt: skip
    recs[5].success = False
    out = split_by("priority_class", recs, [50.0, 99.0])
    assert out["priority_class.high.completed"] == 2
    assert out["priority_class.low.completed"] == 3
    assert out["priority_class.low.failed"] == 1
    assert out["priority_class.high.mean_ttft_ms"] == pytest.approx(15.0)
    assert out["priority_class.low.median_ttft_ms"] == pytest.approx(40.0)
    assert out["priority_class.high.mean_tpot_ms"] == pytest.approx(5.0)
    assert split_by("structured_output", recs, [99.0]) == {}


@pytest.mark.parametrize(
    ("kind", "value", "good", "bad"),
    [
        ("json_schema", DEFAULT_SCHEMA, '{"name": "a", "age": 3, "email": "x"}',
         '{"name": "a", "age": -3, "email": "x"}'),
        ("json_schema", DEFAULT_SCHEMA, ' {"name": "a", "age": 3, "email": "x"}\n', "{name: a}"),
        ("regex", r"[a-z]+@[a-z]+\.com", "bob@mail.com", "bob@mail.com!"),
        ("choice", ["yes", "no"], " yes", "maybe"),
    ],
)  # fmt: skip
def test_is_valid(kind: str, value: object, good: str, bad: str) -> None:
    c = Constraint(kind, value)
    assert is_valid(c, good) is True
    assert is_valid(c, bad) is False


def test_structured_validity_counts_the_constrained_successes() -> None:
    body = Constraint("choice", ["yes", "no"]).body("guided")
    grammar = Constraint("grammar", "root ::= x").body("structured_outputs")
    specs = [
        RequestSpec("a", 1, 2, extra_body=body),
        RequestSpec("b", 1, 2),
        RequestSpec("c", 1, 2, extra_body=grammar),
    ]
    recs = [record(0, 1, "yes"), record(1, 1, "zzz"), record(2, 1, "x"), record(3, 1, "nope"),
            record(6, 1, "no")]  # fmt: skip
    recs[4].success = False  # failed requests are not judged
    out = structured_validity(recs, specs)
    assert out == {
        "structured_output_checked": 2,
        "structured_output_valid": 1,
        "structured_output_unchecked": 1,
        "structured_output_valid_rate": 0.5,
        "structured_output_invalid_examples": ["nope"],
    }
    assert json.loads(json.dumps(out)) == out


def test_pooling_throughput_counts_texts_as_inputs() -> None:
    specs = [RequestSpec("q", 10, None, extra_body={"documents": ["a", "b", "c"]})]
    recs = [record(i, 1) for i in range(4)]
    out = pooling_throughput(recs, specs, 2.0, "rerank")
    assert out["pooling_inputs"] == 12
    assert out["pooling_inputs_per_s"] == 6.0
    assert out["pooling_input_tokens_per_s"] == 20.0
    assert pooling_throughput(recs, specs, 2.0, "openai-embeddings")["pooling_inputs"] == 16
    plain = [RequestSpec("q", 10, None)]
    assert pooling_throughput(recs, plain, 2.0, "openai-embeddings")["pooling_inputs"] == 4
