"""`plan=true plan.k8s_dir=DIR`: the grid as Kubernetes Job manifests, checked against the
official `kubernetes` client's models (V1Job) by deserializing and serializing them back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, V1Job

from instruments.errors import ConfigError
from sweeper import k8s
from sweeper.plan import main, make_plan
from sweeper.schema import CONF_DIR

GRID = [
    "-m", "concurrency=1,2,3,4", "server=vllm", "model=tiny-random", "gpus_per_job=1",
    "tracking.uri=http://mlflow.example:5000", "server.api_key_env=VLLM_API_KEY",
    "load.api_key_env=VLLM_API_KEY",
]  # fmt: skip


class _Response:
    """What ApiClient.deserialize reads: an HTTP response's body."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.data = json.dumps(doc)


def as_v1_job(doc: dict[str, Any]) -> V1Job:
    """The manifest as the client's model; a field the model lacks would be dropped, so the
    round trip must give the manifest back unchanged."""
    client = ApiClient()
    job = client.deserialize(_Response(doc), "V1Job")
    assert isinstance(job, V1Job)
    assert client.sanitize_for_serialization(job) == doc
    return job


def test_four_point_grid_is_four_valid_jobs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "k8s"
    options = [
        f"plan.k8s_dir={out}", "plan.k8s_env=HF_TOKEN",
        "plan.k8s_image=registry.example/sweeper:0.1", "plan.k8s_namespace=bench",
    ]  # fmt: skip
    code = main([*GRID, *options])
    assert code == 0
    assert "Kubernetes: 4 Job manifests" in capsys.readouterr().out
    paths = sorted(out.glob("job-*.yaml"))
    assert [p.name for p in paths] == [f"job-{n:03d}.yaml" for n in range(4)]
    swept = []
    for num, path in enumerate(paths):
        job = as_v1_job(yaml.safe_load(path.read_text()))
        assert job.metadata.namespace == "bench"
        assert job.spec.backoff_limit == 0
        pod = job.spec.template.spec
        assert pod.restart_policy == "Never"
        (container,) = pod.containers
        assert container.image == "registry.example/sweeper:0.1"
        assert container.resources.limits["nvidia.com/gpu"] == "1"
        # secrets only by reference, never a value
        assert {e.name for e in container.env} == {"HF_TOKEN", "VLLM_API_KEY"}
        for env in container.env:
            assert env.value is None
            assert env.value_from.secret_key_ref.name == "sweeper-secrets"
        args = container.args
        assert args[0] == "-m" and f"hydra.sweep.subdir={num}" in args
        assert any(a.startswith("hydra.sweep.dir=/sweeps/sweeper-") for a in args)
        swept += [a for a in args if a.startswith("concurrency=")]
        assert pod.volumes[0].persistent_volume_claim.claim_name == "sweeper-sweeps"
    assert swept == [f"concurrency={c}" for c in (1, 2, 3, 4)]


def test_no_gpu_request_without_gpus_per_job() -> None:
    plan = make_plan(["-m", "concurrency=1,2"], CONF_DIR, history=False)
    for doc in k8s.manifests(plan, k8s.K8sOptions()):
        limits = as_v1_job(doc).spec.template.spec.containers[0].resources.limits
        assert "nvidia.com/gpu" not in limits


def test_a_literal_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"holds a secret.*oc\.env"):
        k8s.job_args(["server.api_key=sk-12345"], "/sweeps/x", 0)
    # a secret inside a dict value, found by composing the plan
    plan = make_plan(["load.headers={authorization:sekrit-value-1}"], CONF_DIR, history=False)
    with pytest.raises(ConfigError, match="holds a secret") as err:
        k8s.manifests(plan, k8s.K8sOptions())
    assert "sekrit" not in str(err.value)
    # an environment reference is kept as typed and its variable comes from the Secret
    args = k8s.job_args(["load.headers.x=${oc.env:MY_TOKEN}"], "/sweeps/x", 0)
    assert "load.headers.x=${oc.env:MY_TOKEN}" in args


def test_unknown_plan_option_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"plan\.k8s_imgae: unknown plan option"):
        k8s.split_options(["plan.k8s_imgae=x"])
