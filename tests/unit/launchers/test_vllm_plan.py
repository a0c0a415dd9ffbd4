from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from instruments.errors import ConfigError
from launchers.config import ModelConfig
from launchers.kinds import check_server, vllm
from launchers.kinds.vllm import VllmKind, VllmServerConfig
from sweeper.schema import register

CONF_DIR = str(Path(__file__).resolve().parents[3] / "conf")
VLLM = VllmKind()
MODEL = ModelConfig(name="my model", path="/models/x", tokenizer="/models/x", max_model_len=512)


@pytest.fixture(autouse=True)
def own_tempdir(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Short socket dirs of deep workdirs go under a temp dir of this test only (never touch
    the system temp dir, where other servers' sockets live)."""
    tmp_path_factory.getbasetemp()  # pytest's own temp root stays where it is
    own = Path(tempfile.mkdtemp(prefix="swt-"))
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    yield own
    shutil.rmtree(own, ignore_errors=True)


def cfg(**kw: object) -> VllmServerConfig:
    return VllmServerConfig(executable=sys.executable, device="cpu", **kw)  # type: ignore[arg-type]


def test_argv_starts_with_entrypoint_and_typed_fields(tmp_path: Path) -> None:
    c = cfg(dtype="bfloat16", max_num_seqs=8, gpu_memory_utilization=0.9, host="127.0.0.1")
    p = VLLM.plan(MODEL, c, 8123, tmp_path)
    assert p.argv[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    a = p.argv
    assert a[a.index("--model") + 1] == "/models/x"
    assert a[a.index("--host") + 1] == "127.0.0.1"
    assert a[a.index("--port") + 1] == "8123"
    assert a[a.index("--served-model-name") + 1] == "my model"
    assert a[a.index("--max-model-len") + 1] == "512"
    assert a[a.index("--dtype") + 1] == "bfloat16"
    assert a[a.index("--max-num-seqs") + 1] == "8"
    assert a[a.index("--gpu-memory-utilization") + 1] == "0.9"
    assert "--tokenizer" not in a  # same folder as the model
    assert p.base_url == "http://127.0.0.1:8123"
    assert p.served_model == "my model"
    assert p.health_path == "/health"
    assert not VLLM.simulated  # real numbers (the sim kind is the simulated one)


def test_server_max_model_len_wins_over_model(tmp_path: Path) -> None:
    a = VLLM.plan(MODEL, cfg(max_model_len=64), 1, tmp_path).argv
    assert a[a.index("--max-model-len") + 1] == "64"
    assert a.count("--max-model-len") == 1


def test_tristate_booleans(tmp_path: Path) -> None:
    a = VLLM.plan(MODEL, cfg(enable_prefix_caching=False, enable_chunked_prefill=True), 1, tmp_path)
    assert "--no-enable-prefix-caching" in a.argv
    assert "--enable-chunked-prefill" in a.argv
    # CPU defaults to eager; an explicit False is respected
    assert "--enforce-eager" in VLLM.plan(MODEL, cfg(), 1, tmp_path).argv
    assert "--no-enforce-eager" in VLLM.plan(MODEL, cfg(enforce_eager=False), 1, tmp_path).argv
    gpu = VllmServerConfig(executable=sys.executable, device="gpu")
    assert not any("eager" in x for x in VLLM.plan(MODEL, gpu, 1, tmp_path).argv)


def test_free_args_flags_json_lists_and_verbatim_metacharacters(tmp_path: Path) -> None:
    nasty = "$(touch /tmp/pwned); rm -rf ~ | cat > x && `id` 'q' \"d\""
    c = cfg(
        args={
            "enable_log_requests": True,
            "disable-frontend-multiprocessing": False,
            "skip": None,
            "hf_overrides": {"b": 1, "a": [1, 2]},
            "middleware": ["m1", "m2"],
            "chat-template": nasty,
            "--seed": 7,
        },
        speculative_config={"method": "ngram", "num_speculative_tokens": 3},
    )
    a = VLLM.plan(MODEL, c, 1, tmp_path).argv
    assert "--enable-log-requests" in a
    assert not any("frontend" in x or "skip" in x for x in a)
    assert json.loads(a[a.index("--hf-overrides") + 1]) == {"a": [1, 2], "b": 1}
    i = a.index("--middleware")
    assert a[i + 1 : i + 3] == ["m1", "m2"]
    assert a[a.index("--chat-template") + 1] == nasty
    assert a[a.index("--seed") + 1] == "7"
    spec = json.loads(a[a.index("--speculative-config") + 1])
    assert spec == {"method": "ngram", "num_speculative_tokens": 3}


def test_env_dev_mode_tmpdir_kvcache_and_user_env(tmp_path: Path) -> None:
    c = cfg(cpu_kvcache_space_gib=3, env={"VLLM_LOGGING_LEVEL": "DEBUG"})
    p = VLLM.plan(MODEL, c, 1, tmp_path / "server")
    assert p.env["VLLM_SERVER_DEV_MODE"] == "1"
    assert p.env["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert p.env["VLLM_LOGGING_LEVEL"] == "DEBUG"
    assert Path(p.env["TMPDIR"]).is_dir()
    assert (tmp_path / "server" / "tmp").resolve() == Path(p.env["TMPDIR"]).resolve()
    gpu = VllmServerConfig(executable=sys.executable, device="gpu", cpu_kvcache_space_gib=3)
    assert "VLLM_CPU_KVCACHE_SPACE" not in VLLM.plan(MODEL, gpu, 1, tmp_path).env


def test_cpus_bind_vllms_openmp_threads_on_cpu(tmp_path: Path) -> None:
    assert VLLM.plan(MODEL, cfg(cpus="0-1"), 1, tmp_path).env["VLLM_CPU_OMP_THREADS_BIND"] == "0,1"
    assert "VLLM_CPU_OMP_THREADS_BIND" not in VLLM.plan(MODEL, cfg(), 1, tmp_path).env
    # the user's own binding wins; several ranks need a list per rank, left to the user
    own = cfg(cpus="1", env={"VLLM_CPU_OMP_THREADS_BIND": "0|1"})
    assert VLLM.plan(MODEL, own, 1, tmp_path).env["VLLM_CPU_OMP_THREADS_BIND"] == "0|1"
    tp = cfg(cpus="0-1", tensor_parallel_size=2)
    assert "VLLM_CPU_OMP_THREADS_BIND" not in VLLM.plan(MODEL, tp, 1, tmp_path).env
    gpu = VllmServerConfig(executable=sys.executable, device="gpu", cpus="0")
    assert "VLLM_CPU_OMP_THREADS_BIND" not in VLLM.plan(MODEL, gpu, 1, tmp_path).env


def test_bad_inputs_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^model\.path"):
        VLLM.plan(ModelConfig(name="m"), cfg(), 1, tmp_path)
    bad_exe = VllmServerConfig(executable=str(tmp_path / "nope/bin/python"))
    with pytest.raises(ConfigError, match=r"^server\.executable: .*nope/bin/python"):
        VLLM.plan(MODEL, bad_exe, 1, tmp_path)
    with pytest.raises(ConfigError, match=r"^server\.executable"):
        VLLM.plan(MODEL, VllmServerConfig(executable="no-such-python-xyz"), 1, tmp_path)
    with pytest.raises(ConfigError, match=r"^server\.device"):
        VLLM.plan(MODEL, VllmServerConfig(executable=sys.executable, device="tpu"), 1, tmp_path)


def test_check_fails_before_anything_starts_naming_the_key(tmp_path: Path) -> None:
    """`check_server` (what a job runs before sampling) catches the same inputs as the plan,
    and the limits on the fields."""
    bad_exe = VllmServerConfig(executable=str(tmp_path / "nope/bin/python"))
    with pytest.raises(ConfigError, match=r"^server\.executable: .*nope/bin/python"):
        check_server(MODEL, bad_exe)
    tpu = replace(cfg(), device="tpu")
    cases = {
        r"^server\.device: must be one of 'auto', 'cpu', 'gpu', got 'tpu'$": tpu,
        r"^server\.tensor_parallel_size: must be >= 1, got 0$": cfg(tensor_parallel_size=0),
        r"^server\.gpu_memory_utilization: must be <= 1, got 1.5$": cfg(gpu_memory_utilization=1.5),
        r"^server\.scheduling_policy: must be one of": cfg(scheduling_policy="lifo"),
        r"^server\.ready_timeout_s: must be > 0, got 0": cfg(ready_timeout_s=0),
        r"^server\.cpus: not a CPU list": cfg(cpus="x"),
    }
    for needle, server in cases.items():
        with pytest.raises(ConfigError, match=needle):
            check_server(MODEL, server)
    with pytest.raises(ConfigError, match=r"^model\.max_model_len: must be >= 1, got 0$"):
        check_server(ModelConfig(name="m", max_model_len=0), cfg())
    check_server(MODEL, cfg(cpus="0", tensor_parallel_size=1))


def test_separate_tokenizer_and_wildcard_host(tmp_path: Path) -> None:
    m = ModelConfig(name="m", path="/models/x", tokenizer="/tok/y")
    p = VLLM.plan(m, cfg(host="0.0.0.0"), 9000, tmp_path)
    assert p.argv[p.argv.index("--tokenizer") + 1] == "/tok/y"
    assert p.argv[p.argv.index("--host") + 1] == "0.0.0.0"
    assert p.base_url == "http://127.0.0.1:9000"
    assert vllm.connect_host("::1") == "[::1]"


def test_device_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert vllm.resolve_device("auto") == "cpu"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    expected = "gpu" if Path("/dev/nvidiactl").exists() else "cpu"
    assert vllm.resolve_device("auto") == expected


def test_conf_server_vllm_composes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPER_VLLM_PYTHON", "/opt/venv/bin/python")
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        c = compose("config", overrides=["server=vllm", "model=tiny-random"])
    server = OmegaConf.to_object(c.server)
    assert isinstance(server, VllmServerConfig)
    assert server.executable == "/opt/venv/bin/python"
    assert server.host == "127.0.0.1"
    assert c.model.generate == "tiny-random"
    assert c.model.name == "tiny-random"


def test_long_workdir_gets_a_short_tmpdir_for_zmq_sockets(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / "servers" / "server-0123abcd-0"
    p = VLLM.plan(MODEL, cfg(), 1, deep)
    tmpdir = Path(p.env["TMPDIR"])
    assert len(str(tmpdir)) + 1 + 36 <= 107 - 8
    assert tmpdir.is_dir() and tmpdir.parent == Path(tempfile.gettempdir())
    assert (deep / "tmp").resolve() == tmpdir.resolve()  # findable from the server's folder
    assert VLLM.plan(MODEL, cfg(), 2, deep).env["TMPDIR"] == str(tmpdir)  # stable per workdir
    (deep / "tmp").unlink()
    tmpdir.rmdir()


def test_short_workdir_keeps_its_own_tmp() -> None:
    short = Path(tempfile.mkdtemp(prefix="sw-"))
    try:
        tmpdir = Path(VLLM.plan(MODEL, cfg(), 1, short / "server").env["TMPDIR"])
        assert tmpdir == short / "server" / "tmp" and tmpdir.is_dir() and not tmpdir.is_symlink()
    finally:
        shutil.rmtree(short)


def test_stale_short_tmpdirs_are_removed_live_ones_kept(own_tempdir: Path) -> None:
    root = Path(tempfile.gettempdir())
    assert root == own_tempdir
    stale, live, fresh = (Path(tempfile.mkdtemp(prefix="sweeper-vllm-t", dir=root)) for _ in "123")
    (stale / "old-socket").write_text("")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(live / "sock"))  # a running server's socket
    try:
        for folder in (stale, live):
            os.utime(folder, (time.time() - 3600, time.time() - 3600))
        removed = vllm.remove_stale_tmpdirs(min_age_s=600)
        assert stale in removed and not stale.exists()
        assert live.exists() and fresh.exists()
    finally:
        server.close()
        for folder in (stale, live, fresh):
            shutil.rmtree(folder, ignore_errors=True)


def test_scheduling_policy_is_passed(tmp_path: Path) -> None:
    argv = VLLM.plan(MODEL, cfg(scheduling_policy="priority"), 1, tmp_path).argv
    assert argv[argv.index("--scheduling-policy") + 1] == "priority"
    assert "--scheduling-policy" not in VLLM.plan(MODEL, cfg(), 1, tmp_path).argv


def test_api_key_env_reaches_vllm_through_its_environment_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_VLLM_KEY", "sk-plan-secret")
    p = VLLM.plan(MODEL, cfg(api_key_env="MY_VLLM_KEY"), 1, tmp_path)
    assert p.env["VLLM_API_KEY"] == "sk-plan-secret"
    assert not any("sk-plan-secret" in a or "api-key" in a for a in p.argv)
    assert p.served_model is None  # ready on /health: /v1/models answers 401 without the key
    plain = VLLM.plan(MODEL, cfg(), 1, tmp_path)
    assert "VLLM_API_KEY" not in plain.env and plain.served_model == "my model"
    # an --api-key in server.args is moved to the environment too
    moved = VLLM.plan(MODEL, cfg(args={"api-key": "sk-in-args", "seed": 1}), 1, tmp_path)
    assert moved.env["VLLM_API_KEY"] == "sk-in-args"
    assert "--api-key" not in moved.argv and "sk-in-args" not in moved.argv
    assert moved.argv[moved.argv.index("--seed") + 1] == "1"
    listed = VLLM.plan(MODEL, cfg(args={"api_key": ["sk-one"]}), 1, tmp_path)
    assert listed.env["VLLM_API_KEY"] == "sk-one"


def test_api_key_mistakes_are_one_line_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match=r"^server\.api_key_env: environment variable "):
        check_server(MODEL, cfg(api_key_env="NO_SUCH_KEY_VAR"))
    monkeypatch.setenv("SOME_KEY", "k")
    with pytest.raises(ConfigError, match=r"^server\.args\.api_key: give the key once"):
        check_server(MODEL, cfg(api_key_env="SOME_KEY", args={"api_key": "x"}))
    with pytest.raises(ConfigError, match=r"^server\.args\.--api-key: one key"):
        check_server(MODEL, cfg(args={"--api-key": ["a", "b"]}))


def test_dev_mode_only_when_the_prefix_cache_reset_needs_it(tmp_path: Path) -> None:
    """`/reset_prefix_cache` is a dev-mode endpoint; without a reset vLLM runs without the
    unauthenticated dev endpoints (/sleep, /collective_rpc, …)."""
    assert (
        VLLM.plan(MODEL, cfg(reset_prefix_cache=True), 1, tmp_path).env["VLLM_SERVER_DEV_MODE"]
        == "1"
    )
    for server in (cfg(reset_prefix_cache=False), cfg(enable_prefix_caching=False)):
        assert "VLLM_SERVER_DEV_MODE" not in VLLM.plan(MODEL, server, 1, tmp_path).env
    # the user's own setting wins (server.env is applied last)
    own = cfg(reset_prefix_cache=False, env={"VLLM_SERVER_DEV_MODE": "1"})
    assert VLLM.plan(MODEL, own, 1, tmp_path).env["VLLM_SERVER_DEV_MODE"] == "1"
