"""NVIDIA GPU telemetry through NVML (nvidia-ml-py). No NVML, no driver or no GPU → empty
results, never an error: the same code runs on CPU machines.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by stop() only: importing this module stays cheap
    import pandas as pd

log = logging.getLogger(__name__)

COLUMNS = ["t_ns", "name", "labels", "value"]


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total_bytes: int
    uuid: str


@contextmanager
def _nvml() -> Iterator[Any]:
    """pynvml, initialised; None when NVML cannot be used here."""
    try:
        import pynvml
    except ImportError:
        yield None
        return
    try:
        pynvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        log.debug("NVML unavailable: %s", e)
        yield None
        return
    try:
        yield pynvml
    finally:
        pynvml.nvmlShutdown()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def gpus() -> list[GpuInfo]:
    """The visible NVIDIA GPUs (empty without NVML or a GPU)."""
    with _nvml() as nvml:
        if nvml is None:
            return []
        out = []
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            mem = nvml.nvmlDeviceGetMemoryInfo(h)
            name = _text(nvml.nvmlDeviceGetName(h))
            out.append(GpuInfo(i, name, int(mem.total), _text(nvml.nvmlDeviceGetUUID(h))))
        return out


def driver_version() -> str | None:
    with _nvml() as nvml:
        return None if nvml is None else _text(nvml.nvmlSystemGetDriverVersion())


def gpu_pids() -> set[int]:
    """Processes holding GPU memory, on any GPU."""
    with _nvml() as nvml:
        if nvml is None:
            return set()
        pids: set[int] = set()
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            for proc in nvml.nvmlDeviceGetComputeRunningProcesses(h):
                pids.add(int(proc.pid))
        return pids


def wait_released(pids: set[int], timeout_s: float = 60.0, poll_s: float = 0.5) -> bool:
    """Wait until none of `pids` holds GPU memory (after a server stopped); True when released
    (at once without a GPU), False on timeout."""
    deadline = time.monotonic() + timeout_s
    while pids & gpu_pids():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True


class GpuMonitor:
    """Samples utilization (%), memory used (bytes) and power (W) per GPU every `interval_s`
    in its own thread; `stop()` returns the long frame (t_ns, name, labels, value), like
    `MetricsScraper`. Without a GPU the frame is empty."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._rows: list[tuple[int, str, str, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gpu-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> pd.DataFrame:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        import pandas as pd

        df = pd.DataFrame(self._rows, columns=COLUMNS)
        return df.astype({"t_ns": "int64", "name": "str", "labels": "str", "value": "float64"})

    def _run(self) -> None:
        with _nvml() as nvml:
            if nvml is None:
                return
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
            while True:
                for i, h in enumerate(handles):
                    self._sample(nvml, i, h)
                if self._stop.wait(self.interval_s):
                    return

    def _sample(self, nvml: Any, index: int, handle: Any) -> None:
        t_ns = time.monotonic_ns()
        labels = json.dumps({"gpu": str(index)})
        try:
            util = nvml.nvmlDeviceGetUtilizationRates(handle)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            power_w = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
        except Exception as e:  # one failed sample is skipped, not fatal
            log.debug("GPU %d sample failed: %s", index, e)
            return
        self._rows += [
            (t_ns, "gpu:utilization_percent", labels, float(util.gpu)),
            (t_ns, "gpu:memory_used_bytes", labels, float(mem.used)),
            (t_ns, "gpu:power_watts", labels, float(power_w)),
        ]
