from __future__ import annotations

from sweeper.job.context import config_hash, is_secret, params

CONFIG = {
    "concurrency": 8,
    "request_rate": float("inf"),
    "server": {"kind": "sim", "env": {"HF_TOKEN": "hf_secret", "OMP_NUM_THREADS": "2"}},
    "load": {"api_key_env": "OPENAI_API_KEY", "extra_body": {}},
    "tracking": {"uri": "sqlite:///a.db"},
    "percentiles": [50.0, 99.0],
}


def test_params_flatten_dotted_and_stringify() -> None:
    p = params(CONFIG)
    assert p["concurrency"] == "8"
    assert p["request_rate"] == "inf"
    assert p["server.env.OMP_NUM_THREADS"] == "2"
    assert p["percentiles"] == "[50.0, 99.0]"
    assert p["load.extra_body"] == "{}"


def test_secrets_never_become_params() -> None:
    p = params(CONFIG)
    assert "server.env.HF_TOKEN" not in p
    assert "hf_secret" not in repr(p)
    # the NAME of the env var holding a key is fine to log
    assert p["load.api_key_env"] == "OPENAI_API_KEY"
    assert is_secret("server.args.api_key") and not is_secret("load.api_key_env")


def test_config_hash_ignores_tracking_but_not_load() -> None:
    other_store = {**CONFIG, "tracking": {"uri": "http://x"}}
    assert config_hash(CONFIG) == config_hash(other_store)
    assert config_hash(CONFIG) != config_hash({**CONFIG, "concurrency": 16})
