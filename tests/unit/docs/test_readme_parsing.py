"""How the README's commands and inline examples are read (a shell's rules)."""

from __future__ import annotations

from tests.unit.docs.readme_commands import fenced_commands, inline_examples

README = """# tool

```bash
pip install -e . && python -m sweeper -m concurrency=1,8   # three jobs
python -m sweeper -m hydra/launcher=joblib \\
    'hydra.sweeper.slo={p99_ttft_ms:500,p99_tpot_ms:50}' x="a # b"  # a comment
mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db
```

```
conf/
  it's a tree, not shell
```

## Keys

Set `load.extra_body='{temperature:0.7}'`, or `slo.ttft_ms=500 slo.tpot_ms=50`; see `key`,
`python -m sweeper`, `server=` and `-m concurrency=1,8`.
"""


def test_commands_are_read_as_a_shell_reads_them() -> None:
    first, second = fenced_commands(README)
    assert first.args == ("-m", "concurrency=1,8") and first.line == 4
    assert first.comment == "three jobs"
    assert second.args == (
        "-m",
        "hydra/launcher=joblib",
        "hydra.sweeper.slo={p99_ttft_ms:500,p99_tpot_ms:50}",
        "x=a # b",
    )
    assert second.line == 5 and second.comment == "a comment"


def test_inline_examples_are_backticked_overrides_of_the_prose() -> None:
    found = [(e.span, e.words, e.line, e.section) for e in inline_examples(README)]
    assert found == [
        (
            "load.extra_body='{temperature:0.7}'",
            ("load.extra_body={temperature:0.7}",),
            17,
            "Keys",
        ),
        ("slo.ttft_ms=500 slo.tpot_ms=50", ("slo.ttft_ms=500", "slo.tpot_ms=50"), 17, "Keys"),
        ("-m concurrency=1,8", ("-m", "concurrency=1,8"), 18, "Keys"),
    ]
