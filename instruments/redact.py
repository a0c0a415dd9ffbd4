"""One redaction for everything sweeper writes: MLflow params, tags and run names, result.json,
the `.hydra/` copies, logs and the copied server log.

A secret is
- a value under a key that looks secret (`is_secret_name`: authorization, api_key / api-key,
  token, password, secret, bearer, credential, cookie — `hf_token` is one, `max_tokens` and
  `tokenizer` are not; a name ending in `_env` names a variable and is not one);
- a value that came from the environment: a `${oc.env:NAME}` in the unresolved config (unless
  it names an existing file or folder: `${oc.env:HOME}/data.json` is a place), or the variable
  a `*api_key_env` key names;
- the word after a secret-looking flag in an argv list (`--api-key X`, `--token=X`).

Structured writers (params, YAML) replace such a value with `PLACEHOLDER`; free text (logs, the
overrides tag, run names, files in the job dir) has every remembered secret string replaced by
it. The remembered strings are process-wide (`remember`), filled once per job from its config
(`secrets_in_config`, `override_secrets`). Strings shorter than `MIN_TEXT_LEN` are redacted
where they sit under a key but not searched for in free text (they would match everywhere).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PLACEHOLDER = "***"
MIN_TEXT_LEN = 4
# word parts of a key name that make its value secret
_SECRET_WORDS = frozenset(
    {"authorization", "token", "password", "passwd", "secret", "bearer", "credential",
     "credentials", "cookie", "apikey"}
)  # fmt: skip
_ENV_REF = re.compile(r"\$\{oc\.env:([^,}\s]+)")
# `key=value` as Hydra takes it on the command line (`+`, `++`, `~` prefixes)
_OVERRIDE = re.compile(r"^(?P<key>[+~]{0,2}[A-Za-z_][\w.\-/@]*)=(?P<value>.*)$", re.S)
# "Bearer sk-…", "Basic …", "Token …": the credential is the last word
_SCHEME = re.compile(r"^(?:bearer|basic|token|apikey)\s+(\S+)$", re.I)

_remembered: set[str] = set()
_env_keys: set[str] = set()
_pattern: re.Pattern[str] | None = None


def is_secret_name(key: str) -> bool:
    """Whether the value under (dotted) `key` is a secret, from the name's last part."""
    last = key.rsplit(".", 1)[-1].lstrip("-+~").lower()
    if last.endswith("_env"):
        return False
    words = [w for w in re.split(r"[_\-\s]+", last) if w]
    joined = ["".join(words[i : i + 2]) for i in range(len(words) - 1)]
    return any(w in _SECRET_WORDS for w in words + joined)


def remember(values: Iterable[str]) -> None:
    """Add secret strings (and the credential of an `Authorization`-style value) to redact."""
    global _pattern
    added = False
    for value in values:
        for s in (value.strip(), *_SCHEME.findall(value.strip())):
            if len(s) >= MIN_TEXT_LEN and s not in _remembered:
                _remembered.add(s)
                added = True
    if added:
        # longest first: "Bearer sk-x" goes whole before "sk-x" is looked for
        alternatives = sorted(_remembered, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def remember_env_keys(keys: Iterable[str]) -> None:
    """Dotted config keys whose value came from the environment (redacted as a whole)."""
    _env_keys.update(keys)


def forget() -> None:
    """Drop what was remembered (tests)."""
    global _pattern
    _remembered.clear()
    _env_keys.clear()
    _pattern = None


def is_secret_key(key: str) -> bool:
    """A config key whose value is redacted: a secret-looking name, or filled from the env."""
    return is_secret_name(key) or key in _env_keys


def redact_text(text: str) -> str:
    """`text` with every remembered secret replaced by `PLACEHOLDER`."""
    if _pattern is None or not text:
        return text
    return _pattern.sub(PLACEHOLDER, text)


def redact_override(line: str) -> str:
    """A Hydra override with a secret-looking key keeps its key only: `k=***`."""
    m = _OVERRIDE.match(line)
    if m and is_secret_key(m["key"].lstrip("+~")):
        return f"{m['key']}={PLACEHOLDER}"
    return redact_text(line)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """argv with the value of each secret-looking flag (`--api-key X`, `--token=X`) redacted."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(PLACEHOLDER)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if arg.startswith("-") and is_secret_name(flag):
            if eq:
                out.append(f"{flag}={PLACEHOLDER}")
                continue
            hide_next = True
        out.append(redact_text(arg))
    return out


def redact_tree(data: Any, prefix: str = "") -> Any:
    """A copy of plain containers with secret keys' values, argv secrets and remembered strings
    redacted; override strings (`k=v`) are redacted by key."""
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            name = f"{prefix}{key}"
            secret = is_secret_key(name) and value not in (None, "", {}, [])
            out[key] = PLACEHOLDER if secret else redact_tree(value, name + ".")
        return out
    if isinstance(data, list | tuple):
        items = redact_argv(data) if all(isinstance(v, str) for v in data) else list(data)
        return [redact_tree(v, prefix) for v in items]
    if isinstance(data, str):
        return redact_override(data)
    return data


def secrets_in_config(
    resolved: Any, unresolved: Any, environ: Mapping[str, str] | None = None, prefix: str = ""
) -> tuple[set[str], set[str]]:
    """(secret strings, keys filled from the environment) of a config, given as plain containers
    resolved and not (`OmegaConf.to_container(cfg, resolve=...)`)."""
    env = os.environ if environ is None else environ
    values: set[str] = set()
    env_keys: set[str] = set()
    if isinstance(resolved, Mapping):
        raw = unresolved if isinstance(unresolved, Mapping) else {}
        for key, value in resolved.items():
            name = f"{prefix}{key}"
            if is_secret_name(name) and isinstance(value, str | int | float) and value != "":
                values.add(str(value))
            if name.endswith("api_key_env") and isinstance(value, str) and env.get(value):
                values.add(env[value])
            v, k = secrets_in_config(value, raw.get(key), env, name + ".")
            values |= v
            env_keys |= k
    elif isinstance(resolved, list | tuple):
        raw_items = unresolved if isinstance(unresolved, list | tuple) else []
        strings = [str(v) for v in resolved]
        hidden = [a for a, s in zip(strings, redact_argv(strings), strict=True) if a != s]
        values |= {a.partition("=")[2] if a.startswith("-") else a for a in hidden}
        for i, value in enumerate(resolved):
            v, k = secrets_in_config(
                value, raw_items[i] if i < len(raw_items) else None, env, prefix
            )
            values |= v
            env_keys |= k
    elif isinstance(unresolved, str):
        # an existing file or folder (`${oc.env:HOME}/data.json`) is a place, not a secret
        names = [n for n in _ENV_REF.findall(unresolved) if not _is_path(env.get(n))]
        if names and not _is_path(resolved):
            env_keys.add(prefix.rstrip("."))
            values |= {env[n] for n in names if env.get(n)}
            if resolved is not None:
                values.add(str(resolved))
    return values, env_keys


def _is_path(value: object) -> bool:
    return isinstance(value, str) and os.sep in value and os.path.exists(value)


def override_secrets(lines: Iterable[str]) -> set[str]:
    """The values of overrides whose key looks secret (`+load.headers.Authorization=Bearer x`)."""
    found = set()
    for line in lines:
        m = _OVERRIDE.match(line)
        if m and is_secret_name(m["key"]) and "${" not in m["value"]:
            found.add(m["value"].strip("'\""))
    return found


def redact_file(path: Path) -> bool:
    """Rewrite a file in place if it holds a remembered secret; True when it did."""
    if _pattern is None:
        return False
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    clean = redact_text(text)
    if clean == text:
        return False
    tmp = path.with_name(path.name + ".redact.tmp")
    try:
        tmp.write_text(clean, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a full disk: the job's own disk check reports it
        tmp.unlink(missing_ok=True)
        return False
    return True


def install_log_redaction() -> None:
    """Redact remembered secrets from every log record as it is made. A record factory, not a
    handler filter: Hydra replaces the handlers (`dictConfig`) before and after every job, and a
    handler's filter never sees the records of loggers with handlers of their own."""
    base = logging.getLogRecordFactory()
    if getattr(base, "redacts", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        if _pattern is not None:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # the handler reports a bad format itself
                return record
            clean = redact_text(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
