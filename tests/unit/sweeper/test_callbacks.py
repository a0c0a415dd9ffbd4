"""The callback's secret handling on a composed config: what a job remembers, and Hydra's YAML
copies rewritten without the secrets (the grep of a whole sweep is tests/integration/faults/
test_secrets.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from instruments import redact
from sweeper.callbacks import redact_yaml
from sweeper.job.context import learn_secrets, params
from sweeper.schema import CONF_DIR, register


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    redact.forget()
    yield
    redact.forget()


def test_a_job_remembers_env_values_and_typed_secrets_and_its_yaml_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNIT_KEY", "sk-unit-env-1")
    monkeypatch.setenv("SWEEPER_VLLM_PYTHON", "/opt/vllm/bin/python")
    overrides = [
        "+load.headers.X-Trace=${oc.env:UNIT_KEY}",
        "+server.env.HF_TOKEN=hf-unit-2",
        "concurrency=3",
    ]
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[*overrides, "server=vllm"], return_hydra_config=True)
    learn_secrets(cfg)
    task = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])
    job_cfg = OmegaConf.to_container(task, resolve=True)
    assert isinstance(job_cfg, dict)
    p = params(job_cfg)
    # an env-filled value under a plain name is left out like a secret-named one
    assert "load.headers.X-Trace" not in p and "server.env.HF_TOKEN" not in p
    assert p["concurrency"] == "3"
    assert p["server.executable"] == "/opt/vllm/bin/python"  # a path from the env, not secret
    assert redact.redact_text("x sk-unit-env-1 hf-unit-2") == "x *** ***"
    copy = tmp_path / "overrides.yaml"
    copy.write_text(OmegaConf.to_yaml(cfg.hydra.overrides.task))
    conf_copy = tmp_path / "config.yaml"
    conf_copy.write_text(OmegaConf.to_yaml({k: v for k, v in cfg.items() if k != "hydra"}))
    redact_yaml(copy)
    redact_yaml(conf_copy)
    assert yaml.safe_load(copy.read_text()) == [
        "+load.headers.X-Trace=***",
        "+server.env.HF_TOKEN=***",
        "concurrency=3",
        "server=vllm",
    ]
    conf = yaml.safe_load(conf_copy.read_text())
    assert conf["server"]["env"]["HF_TOKEN"] == "***"
    assert conf["load"]["headers"]["X-Trace"] == "***"
    assert conf["concurrency"] == 3


def test_config_hash_counts_env_filled_values_not_secret_named_ones() -> None:
    from sweeper.job.context import config_hash

    redact.remember_env_keys(["dataset.path"])
    base = {"dataset": {"path": "a.json"}, "load": {"headers": {"Authorization": "Bearer 1"}}}
    other_data = {**base, "dataset": {"path": "b.json"}}
    rotated = {**base, "load": {"headers": {"Authorization": "Bearer 2"}}}
    assert config_hash(base) != config_hash(other_data)
    assert config_hash(base) == config_hash(rotated)
    assert "dataset.path" not in params(base)
