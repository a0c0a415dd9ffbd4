"""Every file-backed loader, good files and bad ones (one line naming file and line)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from instruments.errors import ConfigError
from sweeper.datasets import sample, validate
from sweeper.datasets.kinds.burstgpt import BurstGPTDatasetConfig
from sweeper.datasets.kinds.custom import CustomDatasetConfig
from sweeper.datasets.kinds.hf import HFDatasetConfig
from sweeper.datasets.kinds.sharegpt import ShareGPTDatasetConfig
from sweeper.datasets.kinds.sonnet import SonnetDatasetConfig
from sweeper.datasets.kinds.trace import TraceDatasetConfig


def one_line_error(cfg: object, match: str) -> str:
    with pytest.raises(ConfigError, match=match) as err:
        validate(cfg)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    return str(err.value)


def write_sharegpt(path: Path) -> Path:
    convs = []
    for i in range(30):
        convs.append(
            {
                "id": str(i),
                "conversations": [
                    {"from": "human", "value": f"question number {i} " + "word " * (5 + i)},
                    {"from": "gpt", "value": "answer " * (4 + i)},
                ],
            }
        )
    convs.append({"id": "short", "conversations": [{"from": "human", "value": "solo"}]})
    path.write_text(json.dumps(convs))
    return path


def test_sharegpt_first_turn_and_reference_output(tmp_path: Path) -> None:
    cfg = ShareGPTDatasetConfig(path=str(write_sharegpt(tmp_path / "sg.json")), seed=3)
    validate(cfg)
    specs = sample(cfg, 10, None)
    assert len(specs) == 10
    for s in specs:
        assert s.prompt.startswith("question number")
        i = int(s.prompt.split()[2])
        # no tokenizer: ceil(chars / 4)
        assert s.output_len == -(-len("answer " * (4 + i)) // 4)
        assert s.prompt_len == -(-len(s.prompt) // 4)
    assert [s.prompt for s in specs] == [s.prompt for s in sample(cfg, 10, None)]


def test_sharegpt_order_is_vllms_seeded_shuffle(tmp_path: Path) -> None:
    """Same file and seed as `vllm bench serve --dataset-name sharegpt --seed 7`: vLLM keeps the
    entries with >= 2 turns, then `random.seed(seed); random.shuffle(data)`."""
    path = write_sharegpt(tmp_path / "sg.json")
    data = [e for e in json.loads(path.read_text()) if len(e["conversations"]) >= 2]
    state = random.getstate()
    try:
        random.seed(7)
        random.shuffle(data)
    finally:
        random.setstate(state)
    specs = sample(ShareGPTDatasetConfig(path=str(path), seed=7), 12, None)
    assert [s.prompt for s in specs] == [e["conversations"][0]["value"] for e in data[:12]]


def test_sharegpt_filters_and_override(tmp_path: Path) -> None:
    path = str(write_sharegpt(tmp_path / "sg.json"))
    cfg = ShareGPTDatasetConfig(path=path, max_prompt_len=15, output_len=9)
    specs = sample(cfg, 100, None)
    assert len(specs) == 100  # oversampled from the few that pass
    assert all(s.prompt_len <= 15 and s.output_len == 9 for s in specs)
    chat = sample(ShareGPTDatasetConfig(path=path, as_chat=True), 2, None)
    assert chat[0].messages == [{"role": "user", "content": chat[0].prompt}]


def test_sharegpt_bad_files(tmp_path: Path) -> None:
    one_line_error(ShareGPTDatasetConfig(path=str(tmp_path / "missing.json")), "file not found")
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"conversations": []},\n {"conversations": [}\n]')
    assert one_line_error(ShareGPTDatasetConfig(path=str(bad)), "invalid JSON").startswith(
        f"{bad}:3: "
    )
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps([{"conversations": [{"from": "human"}]}]))
    one_line_error(ShareGPTDatasetConfig(path=str(shape)), r"entry 0: turn 0 has no text")
    one_line_error(ShareGPTDatasetConfig(path=""), r"dataset\.path: no file given")


def test_custom_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"prompt": "hello world", "output_len": 7}\n\n{"prompt": "second one"}\n')
    cfg = CustomDatasetConfig(path=str(path), output_len=33)
    validate(cfg)
    specs = sample(cfg, 2, None)
    assert [(s.prompt, s.output_len) for s in specs] == [("hello world", 7), ("second one", 33)]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"prompt": "ok"}\n{"prompt": "x", oops}\n', r":2: invalid JSON"),
        ('{"prompt": "ok"}\n[1, 2]\n', r":2: expected a JSON object"),
        ('{"prompt": ""}\n', r":1: 'prompt' must be a non-empty string"),
        ('{"prompt": "a", "output_len": "many"}\n', r":1: output_len is not a number"),
        ('{"prompt": "a", "output_len": 2.5}\n', r":1: output_len must be a non-negative integer"),
        ("\n\n", r": no records"),
    ],
)
def test_custom_bad_lines(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(content)
    msg = one_line_error(CustomDatasetConfig(path=str(path)), match)
    assert msg.startswith(str(path))


def test_sonnet(tmp_path: Path) -> None:
    corpus = tmp_path / "sonnet.txt"
    corpus.write_text("\n".join(f"line number {i} of the poem here" for i in range(40)))
    cfg = SonnetDatasetConfig(path=str(corpus), input_len=60, output_len=12, prefix_len=30)
    validate(cfg)
    specs = sample(cfg, 4, None)
    heads = {s.prompt.split("\n")[:3][2] for s in specs}
    assert len(heads) == 1  # the shared prefix
    assert all(s.prompt.startswith(cfg.instruction) for s in specs)
    assert all(60 <= s.prompt_len <= 60 + 10 and s.output_len == 12 for s in specs)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    one_line_error(SonnetDatasetConfig(path=str(empty)), "no text lines")
    one_line_error(SonnetDatasetConfig(path=str(corpus), input_len=10, prefix_len=20), "prefix_len")


BURST = """Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
5,ChatGPT,100,20,120,Conversation log
7.5,GPT-4,50,0,50,Conversation log
9,GPT-4,30,40,70,Conversation log
12,ChatGPT,10,5,15,API log
"""


def test_burstgpt_lengths_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(BURST)
    cfg = BurstGPTDatasetConfig(path=str(path))
    validate(cfg)
    specs = sample(cfg, 3, None)
    assert [(s.prompt_len, s.output_len, s.arrival_s) for s in specs] == [
        (100, 20, 5.0),
        (30, 40, 9.0),
        (10, 5, 12.0),
    ]
    gpt4 = sample(BurstGPTDatasetConfig(path=str(path), model_filter="GPT-4"), 1, None)
    assert (gpt4[0].prompt_len, gpt4[0].output_len) == (30, 40)


def test_burstgpt_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("Timestamp,Model\n1,x\n")
    one_line_error(BurstGPTDatasetConfig(path=str(path)), r":1: missing column\(s\) Request")
    path.write_text(BURST.replace("9,GPT-4,30", "9,GPT-4,thirty"))
    one_line_error(BurstGPTDatasetConfig(path=str(path)), r"b\.csv:4: Request tokens is not")


def test_trace_jsonl_ms_and_csv(tmp_path: Path) -> None:
    jl = tmp_path / "t.jsonl"
    jl.write_text(
        '{"timestamp": 1000, "input_length": 8, "output_length": 3}\n'
        '{"timestamp": 1500, "input_length": 4, "output_length": 2}\n'
    )
    specs = sample(TraceDatasetConfig(path=str(jl), timestamp_unit="ms"), 5, None)
    assert [(s.arrival_s, s.prompt_len, s.output_len) for s in specs] == [(1.0, 8, 3), (1.5, 4, 2)]
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("ts,in,out\n0.5,6,2\n")
    cfg = TraceDatasetConfig(path=str(csv_path), timestamp_field="ts", input_field="in",
                             output_field="out")  # fmt: skip
    assert sample(cfg, 1, None)[0].arrival_s == 0.5
    jl.write_text('{"timestamp": 1, "input_length": 8}\n')
    one_line_error(
        TraceDatasetConfig(path=str(jl)), r"t\.jsonl:1: missing field\(s\) output_length"
    )
    one_line_error(TraceDatasetConfig(path=str(jl), timestamp_unit="h"), "timestamp_unit")


def test_hf_saved_dataset_folder(tmp_path: Path) -> None:
    import datasets

    rows = {"question": [f"question {i}" for i in range(6)], "n": [3, 4, 5, 6, 7, 8]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    cfg = HFDatasetConfig(name=str(tmp_path / "saved"), prompt_field="question",
                          output_len_field="n", seed=1)  # fmt: skip
    validate(cfg)
    specs = sample(cfg, 4, None)
    assert len({s.prompt for s in specs}) == 4
    assert all(s.output_len == int(s.prompt.split()[1]) + 3 for s in specs)
    assert [s.prompt for s in specs] == [s.prompt for s in sample(cfg, 4, None)]


def test_hf_folder_of_jsonl_files(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"prompt": "a b c"}\n{"prompt": "d e"}\n')
    specs = sample(HFDatasetConfig(name=str(folder), output_len=5), 3, None)
    assert sorted({s.prompt for s in specs}) == ["a b c", "d e"] and len(specs) == 3


def test_hf_bad_inputs(tmp_path: Path) -> None:
    one_line_error(HFDatasetConfig(name=""), r"dataset\.name")
    one_line_error(HFDatasetConfig(name=str(tmp_path / "missing")), r"dataset\.name: cannot load")
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "x"}\n')
    one_line_error(HFDatasetConfig(name=str(folder)), r"dataset\.prompt_field: 'prompt' not in")


def test_unknown_kind_and_wrong_schema() -> None:
    from sweeper.datasets.base import DatasetConfig

    one_line_error(DatasetConfig(kind="nope"), r"dataset\.kind: unknown kind 'nope'")
    one_line_error(DatasetConfig(kind="sharegpt"), r"schema/dataset/sharegpt schema")
