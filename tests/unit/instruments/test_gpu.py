from __future__ import annotations

import json
import sys
import time
import types
from types import SimpleNamespace

import pytest

from instruments import gpu


def test_no_gpu_here_means_nothing_and_no_error() -> None:
    pytest.importorskip("pynvml")
    if gpu.gpus():
        pytest.skip("a GPU is visible; the fake-NVML tests cover the sampling")
    assert gpu.driver_version() is None
    assert gpu.gpu_pids() == set()
    assert gpu.wait_released({1, 2}, timeout_s=0.1) is True
    monitor = gpu.GpuMonitor(0.01)
    monitor.start()
    df = monitor.stop()
    assert df.empty and list(df.columns) == gpu.COLUMNS


def test_missing_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    assert gpu.gpus() == []
    assert gpu.driver_version() is None


def fake_nvml(holders: list[set[int]]) -> types.ModuleType:
    """Two GPUs; `holders` is consumed one set per gpu_pids() call (the last one stays)."""
    m = types.ModuleType("pynvml")
    state = {"init": 0}

    def init() -> None:
        state["init"] += 1

    def shutdown() -> None:
        state["init"] -= 1

    def procs(h: int) -> list[SimpleNamespace]:
        current = holders[0] if len(holders) == 1 or h == 1 else holders.pop(0)
        return [SimpleNamespace(pid=p) for p in current] if h == 0 else []

    m.nvmlInit = init  # type: ignore[attr-defined]
    m.nvmlShutdown = shutdown  # type: ignore[attr-defined]
    m.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    m.nvmlDeviceGetName = lambda h: b"NVIDIA H100 80GB HBM3"  # type: ignore[attr-defined]
    m.nvmlDeviceGetUUID = lambda h: f"GPU-{h}"  # type: ignore[attr-defined]
    m.nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(  # type: ignore[attr-defined]
        total=80 << 30, used=(h + 1) << 30
    )
    m.nvmlDeviceGetUtilizationRates = lambda h: SimpleNamespace(gpu=50 + h)  # type: ignore[attr-defined]
    m.nvmlDeviceGetPowerUsage = lambda h: 300_000 + h  # type: ignore[attr-defined]
    m.nvmlSystemGetDriverVersion = lambda: "580.65.06"  # type: ignore[attr-defined]
    m.nvmlDeviceGetComputeRunningProcesses = procs  # type: ignore[attr-defined]
    m.state = state  # type: ignore[attr-defined]
    return m


def test_with_fake_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fake_nvml([{42}])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    infos = gpu.gpus()
    assert [(g.index, g.name, g.memory_total_bytes) for g in infos] == [
        (0, "NVIDIA H100 80GB HBM3", 80 << 30),
        (1, "NVIDIA H100 80GB HBM3", 80 << 30),
    ]
    assert gpu.driver_version() == "580.65.06"
    monitor = gpu.GpuMonitor(0.02)
    monitor.start()
    time.sleep(0.1)
    df = monitor.stop()
    assert nvml.state["init"] == 0  # every init shut down
    assert set(df["name"]) == {
        "gpu:utilization_percent",
        "gpu:memory_used_bytes",
        "gpu:power_watts",
    }
    one = df[(df["labels"] == json.dumps({"gpu": "1"})) & (df["name"] == "gpu:power_watts")]
    assert len(one) >= 2 and one["value"].iloc[0] == pytest.approx(300.001)


def test_wait_released(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([{42, 7}, {42}, set()]))
    assert gpu.wait_released({42}, timeout_s=5, poll_s=0.01) is True
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([{42}]))
    assert gpu.wait_released({42}, timeout_s=0.05, poll_s=0.01) is False
    assert gpu.wait_released({43}, timeout_s=0.05, poll_s=0.01) is True
