"""`server.cpus`: the CPUs a started server runs on, as a Linux CPU list ("0", "0,2-3").

The launcher applies it to the server's process (children inherit it), so a load generator on
the other CPUs never waits for the server's core, nor the server for the load generator's.
"""

from __future__ import annotations

import os

from instruments.errors import ConfigError


def cpu_list(text: str) -> set[int]:
    """`0,2-3` -> {0, 2, 3}; ValueError for anything else."""
    cpus: set[int] = set()
    try:
        for part in str(text).split(","):
            lo, _, hi = part.strip().partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise ValueError(f"not a CPU list like 0 or 0,2-3: {text!r}") from None
    if not cpus:
        raise ValueError(f"an empty CPU list: {text!r}")
    return cpus


def check_cpus(text: str) -> set[int]:
    """server.cpus as a set of CPUs this process may run on (checked before a server starts)."""
    try:
        cpus = cpu_list(text)
    except ValueError as e:
        raise ConfigError(f"server.cpus: {e}") from None
    count = os.cpu_count() or 1
    if missing := sorted(c for c in cpus if c >= count):
        raise ConfigError(f"server.cpus: no CPU {missing} on this machine ({count} CPUs)")
    return cpus


def format_cpus(cpus: set[int]) -> str:
    """{0, 2, 3} -> "0,2,3" (a list vLLM's VLLM_CPU_OMP_THREADS_BIND and taskset accept)."""
    return ",".join(str(c) for c in sorted(cpus))
