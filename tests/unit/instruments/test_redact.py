"""instruments.redact: which keys are secret, what is remembered, and each writer's form."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from instruments import redact
from instruments.redact import PLACEHOLDER


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    redact.forget()
    yield
    redact.forget()


def test_secret_names_by_word_not_substring() -> None:
    secret = ["load.headers.Authorization", "HF_TOKEN", "hf_token", "X-Api-Key", "api-key",
              "server.args.api_key", "--api-key", "apikey", "password", "client_secret",
              "Cookie", "access-token", "VLLM_API_KEY", "bearer"]  # fmt: skip
    plain = ["max_tokens", "model.tokenizer", "num_speculative_tokens", "load.api_key_env",
             "server.api_key_env", "max_num_batched_tokens", "keyword", "author"]  # fmt: skip
    assert [k for k in secret if not redact.is_secret_name(k)] == []
    assert [k for k in plain if redact.is_secret_name(k)] == []


def test_config_secrets_keyed_from_env_by_api_key_env_and_argv() -> None:
    environ = {"KEY": "sk-env-1", "CLIENT_KEY": "sk-client-2", "PY": "/opt/py"}
    unresolved = {
        "load": {
            "headers": {"Authorization": "Bearer ${oc.env:KEY}", "X-Trace": "${oc.env:KEY}"},
            "api_key_env": "CLIENT_KEY",
            "extra_body": {"api_key": "body-3", "temperature": 0},
        },
        "server": {"env": {"HF_TOKEN": "hf-4"}, "argv": ["srv", "--token", "argv-5"]},
        "concurrency": 4,
    }
    resolved = {
        "load": {
            "headers": {"Authorization": "Bearer sk-env-1", "X-Trace": "sk-env-1"},
            "api_key_env": "CLIENT_KEY",
            "extra_body": {"api_key": "body-3", "temperature": 0},
        },
        "server": {"env": {"HF_TOKEN": "hf-4"}, "argv": ["srv", "--token", "argv-5"]},
        "concurrency": 4,
    }
    values, env_keys = redact.secrets_in_config(resolved, unresolved, environ)
    assert {"sk-env-1", "Bearer sk-env-1", "sk-client-2", "body-3", "hf-4", "argv-5"} <= values
    assert "/opt/py" not in values and "4" not in values
    assert env_keys == {"load.headers.Authorization", "load.headers.X-Trace"}


def test_each_writer_form() -> None:
    redact.remember(["Bearer sk-abc-123", "hf-xyz-9", "ab"])  # "ab": too short for free text
    redact.remember_env_keys(["load.headers.X-Trace"])
    assert redact.redact_text("sent Bearer sk-abc-123 and sk-abc-123, hf-xyz-9; ab") == (
        f"sent {PLACEHOLDER} and {PLACEHOLDER}, {PLACEHOLDER}; ab"
    )
    assert redact.redact_override("+load.headers.Authorization=Bearer new-one") == (
        f"+load.headers.Authorization={PLACEHOLDER}"
    )
    assert redact.redact_override("+load.headers.X-Trace=${oc.env:K}") == (
        f"+load.headers.X-Trace={PLACEHOLDER}"
    )
    assert redact.redact_override("concurrency=4") == "concurrency=4"
    argv = ["srv", "--api-key", "k1", "--token=k2", "--model", "m", "--tokenizer", "t"]
    assert redact.redact_argv(argv) == [
        "srv", "--api-key", PLACEHOLDER, f"--token={PLACEHOLDER}", "--model", "m",
        "--tokenizer", "t",
    ]  # fmt: skip
    tree = {
        "load": {"headers": {"Authorization": "Bearer x", "X-Trace": "v"}, "api_key_env": "N"},
        "hydra": {"overrides": {"task": ["a=1", "+server.env.HF_TOKEN=hf-xyz-9"]}},
        "note": "has hf-xyz-9 inside",
    }
    assert redact.redact_tree(tree) == {
        "load": {"headers": {"Authorization": PLACEHOLDER, "X-Trace": PLACEHOLDER},
                 "api_key_env": "N"},
        "hydra": {"overrides": {"task": ["a=1", f"+server.env.HF_TOKEN={PLACEHOLDER}"]}},
        "note": f"has {PLACEHOLDER} inside",
    }  # fmt: skip


def test_override_secrets_are_the_values_typed() -> None:
    lines = ["+load.headers.Authorization=Bearer sk-lit", "server.env.HF_TOKEN='hf-q'",
             "+load.headers.Authorization=Bearer ${oc.env:K}", "concurrency=1"]  # fmt: skip
    assert redact.override_secrets(lines) == {"Bearer sk-lit", "hf-q"}


def test_files_and_log_records(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "server.log"
    f.write_text("argv: --api-key sk-file-1\n")
    assert not redact.redact_file(f)  # nothing remembered yet: left alone
    redact.remember(["sk-file-1"])
    assert redact.redact_file(f) and f.read_text() == f"argv: --api-key {PLACEHOLDER}\n"
    assert not redact.redact_file(f)
    binary = tmp_path / "requests.parquet"
    binary.write_bytes(b"\xff\xfe sk-file-1")
    assert not redact.redact_file(binary)  # not text: never rewritten
    factory = logging.getLogRecordFactory()
    try:
        redact.install_log_redaction()
        redact.install_log_redaction()  # once only
        with caplog.at_level(logging.INFO):
            logging.getLogger("some.module").info("starting server: %s", "x --key sk-file-1")
        assert caplog.messages == [f"starting server: x --key {PLACEHOLDER}"]
    finally:
        logging.setLogRecordFactory(factory)


def test_an_env_value_naming_an_existing_path_is_not_a_secret(tmp_path: Path) -> None:
    environ = {"DATA_HOME": str(tmp_path), "KEY": "sk-not-a-path"}
    unresolved = {"dataset": {"path": "${oc.env:DATA_HOME}/d.json"}, "x": "${oc.env:KEY}"}
    (tmp_path / "d.json").write_text("[]")
    resolved = {"dataset": {"path": f"{tmp_path}/d.json"}, "x": "sk-not-a-path"}
    values, env_keys = redact.secrets_in_config(resolved, unresolved, environ)
    assert values == {"sk-not-a-path"} and env_keys == {"x"}
