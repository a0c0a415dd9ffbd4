"""GPU sets that hold across processes: flock per GPU, all-or-nothing, released on exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instruments.errors import ConfigError
from launchers import gpus

REPO = Path(__file__).resolve().parents[3]

HOLDER = """
import json, os, sys, time
from pathlib import Path
from launchers import gpus
t0 = time.time()
holder = gpus.GpuHolder()
ids = holder.ensure(int(sys.argv[2]), ["g0", "g1", "g2"], Path(sys.argv[1]), timeout_s=30)
print(json.dumps({"ids": ids, "cvd": os.environ["CUDA_VISIBLE_DEVICES"], "got": time.time()}),
      flush=True)
time.sleep(float(sys.argv[3]))
print(json.dumps({"done": time.time()}), flush=True)
"""


def _holder(lock_dir: Path, n: int, hold_s: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), str(n), str(hold_s)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"},
    )  # fmt: skip


def _first_line(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdout is not None
    return json.loads(proc.stdout.readline())


def test_sets_are_disjoint_all_or_nothing_and_freed_by_release(tmp_path: Path) -> None:
    devices = ["0", "1", "2", "3", "4"]
    a = gpus.try_acquire(tmp_path, devices, 2)
    b = gpus.try_acquire(tmp_path, devices, 2)
    assert a is not None and b is not None
    assert a.ids == ["0", "1"] and b.ids == ["2", "3"]
    # one GPU is free but two are asked: nothing is taken
    assert gpus.try_acquire(tmp_path, devices, 2) is None
    c = gpus.try_acquire(tmp_path, devices, 1)
    assert c is not None and c.ids == ["4"]
    a.release()
    d = gpus.try_acquire(tmp_path, devices, 2)
    assert d is not None and d.ids == ["0", "1"]
    for s in (b, c, d):
        s.release()


def test_processes_get_disjoint_sets_and_a_third_waits_for_a_release(tmp_path: Path) -> None:
    first, second = _holder(tmp_path, 1, 2.0), _holder(tmp_path, 2, 30.0)
    try:
        got1, got2 = _first_line(first), _first_line(second)
        assert got1["cvd"] == ",".join(got1["ids"])
        assert len(got1["ids"]) == 1 and len(got2["ids"]) == 2
        assert not set(got1["ids"]) & set(got2["ids"])
        third = _holder(tmp_path, 1, 0.0)
        got3 = _first_line(third)
        done1 = json.loads(first.stdout.readline())["done"]  # type: ignore[union-attr]
        # the only free GPU came back when the first holder exited
        assert got3["ids"] == got1["ids"] and got3["got"] >= done1
        third.wait(timeout=10)
        # a holder killed outright frees its GPUs too
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=10)
        fourth = _holder(tmp_path, 3, 0.0)
        assert sorted(_first_line(fourth)["ids"]) == ["g0", "g1", "g2"]
        fourth.wait(timeout=10)
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
            p.wait()


def test_more_gpus_than_visible_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^gpus_per_job: 3 GPUs per job, but only 2 visible"):
        gpus.GpuHolder().ensure(3, ["0", "1"], tmp_path, timeout_s=1)
    with pytest.raises(ConfigError, match=r"^gpus_per_job: must be >= 0"):
        gpus.GpuHolder().ensure(-1, ["0"], tmp_path, timeout_s=1)
    assert gpus.GpuHolder().ensure(0, ["0"], tmp_path, timeout_s=1) is None


def test_waiting_past_the_timeout_says_which_gpus_are_busy(tmp_path: Path) -> None:
    held = gpus.try_acquire(tmp_path, ["0"], 1)
    assert held is not None
    t0 = time.monotonic()
    with pytest.raises(Exception, match=r"no 1 free GPUs among 0 after 0.5s"):
        gpus.acquire(tmp_path, ["0"], 1, timeout_s=0.5, poll_s=0.05)
    assert time.monotonic() - t0 < 5
    held.release()


def test_slurm_allocation_is_used_as_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    assert gpus.GpuHolder().ensure(2, None, tmp_path, timeout_s=1) == ["5", "7"]
    assert not list(tmp_path.iterdir()), "no lock files under SLURM"
