"""The planned grid as Kubernetes Job manifests: `plan=true plan.k8s_dir=DIR` (sweeper.plan)
writes one `batch/v1` Job per grid point, `DIR/job-NNN.yaml`, for clusters without Ray (with
Ray, KubeRay and `hydra/launcher=ray` run the sweep as one; see the README).

Each Job runs `python -m sweeper -m <the point's overrides>` as a one-point sweep into the
shared sweep dir (`hydra.sweep.dir` on the volume `plan.k8s_pvc`, `hydra.sweep.subdir` = the
job's number, so the job dirs sit side by side as with any launcher), tracking into the
`mlflow server` of `tracking.uri`. Resources: `plan.k8s_cpu`, `plan.k8s_memory`, and
`nvidia.com/gpu` = `gpus_per_job`. Secrets never appear in a manifest: every variable a job
reads a secret from (`${oc.env:NAME}` in an override, a `*api_key_env` key, `plan.k8s_env`)
comes from the Kubernetes Secret `plan.k8s_secret` by `secretKeyRef`; an override holding a
secret literally is refused. `backoffLimit: 0`: a failed pod is a FAILED job run, and
`resume=true` (the same grid, a later apply) reruns it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import yaml

from instruments.errors import ConfigError
from instruments.redact import redact_override, redact_text


class GridJob(Protocol):
    """What a manifest needs of a planned job (`sweeper.plan.PlannedJob`)."""

    num: int
    argv: list[str]
    params: dict[str, str]
    config_hash: str


class GridPlan(Protocol):
    @property
    def jobs(self) -> Sequence[GridJob]: ...


PREFIX = "plan."
_ENV_REF = re.compile(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)")
# what the sweep itself sets per job: the manifest's own values win
_OWN_KEYS = ("hydra.sweep.dir=", "hydra.sweep.subdir=", "hydra/launcher=")


@dataclass
class K8sOptions:
    """`plan.k8s_*=VALUE` on the command line of `plan=true`."""

    k8s_dir: str = ""
    k8s_image: str = "sweeper:latest"
    k8s_namespace: str = "default"
    k8s_secret: str = "sweeper-secrets"
    # further variables to take from the Secret, comma-separated (e.g. HF_TOKEN)
    k8s_env: str = ""
    # the PersistentVolumeClaim holding the sweep dirs, mounted at k8s_mount
    k8s_pvc: str = "sweeper-sweeps"
    k8s_mount: str = "/sweeps"
    k8s_cpu: str = "4"
    k8s_memory: str = "16Gi"
    names: list[str] = field(default_factory=list)


def split_options(args: Sequence[str]) -> tuple[K8sOptions, list[str]]:
    """The `plan.*` options and the remaining (Hydra) arguments."""
    opts = K8sOptions()
    known = {f.name for f in fields(K8sOptions)} - {"names"}
    rest = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not (sep and key.startswith(PREFIX)):
            rest.append(arg)
            continue
        name = key[len(PREFIX) :]
        if name not in known:
            raise ConfigError(f"{key}: unknown plan option (plan.{', plan.'.join(sorted(known))})")
        setattr(opts, name, value)
    return opts, rest


def sweep_name(plan: GridPlan) -> str:
    """A DNS-1123 name for the sweep, stable for the same grid."""
    digest = hashlib.sha256("".join(j.config_hash for j in plan.jobs).encode()).hexdigest()
    return f"sweeper-{digest[:10]}"


def secret_env_names(plan: GridPlan, opts: K8sOptions) -> list[str]:
    names = {n.strip() for n in opts.k8s_env.split(",") if n.strip()}
    for job in plan.jobs:
        for override in job.argv:
            names.update(_ENV_REF.findall(override))
        for key, value in job.params.items():
            if key.endswith("api_key_env") and value not in ("", "None", "null"):
                names.add(value)
    return sorted(names)


def job_args(argv: Sequence[str], sweep_dir: str, num: int) -> list[str]:
    args = []
    for override in argv:
        # a secret-named key, or a value the plan's composition found secret (learn_secrets)
        if redact_override(override) != override or redact_text(override) != override:
            raise ConfigError(
                f"override {redact_text(redact_override(override))!r} holds a secret: for "
                "Kubernetes pass it as ${oc.env:NAME} (the pod gets NAME from the Secret "
                "plan.k8s_secret)"
            )
        if not override.startswith(_OWN_KEYS):
            args.append(override)
    return ["-m", *args, f"hydra.sweep.dir={sweep_dir}", f"hydra.sweep.subdir={num}"]


def manifests(plan: GridPlan, opts: K8sOptions) -> list[dict[str, Any]]:
    """One Job manifest per grid point (skipped-by-resume points too: resume=true in a pod
    skips them again, against the same MLflow server)."""
    name = sweep_name(plan)
    sweep_dir = f"{opts.k8s_mount.rstrip('/')}/{name}"
    env = [
        {"name": n, "valueFrom": {"secretKeyRef": {"name": opts.k8s_secret, "key": n}}}
        for n in secret_env_names(plan, opts)
    ]
    docs = []
    for job in plan.jobs:
        labels = {
            "app.kubernetes.io/name": "sweeper",
            "sweeper/sweep": name,
            "sweeper/job-num": str(job.num),
        }
        pod = pod_spec(opts, job_args(job.argv, sweep_dir, job.num), env, job.params)
        docs.append(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": f"{name}-{job.num}",
                    "namespace": opts.k8s_namespace,
                    "labels": labels,
                },
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
                },
            }
        )
    return docs


def pod_spec(
    opts: K8sOptions, args: list[str], env: list[dict[str, Any]], params: dict[str, str]
) -> dict[str, Any]:
    gpus = int(params.get("gpus_per_job", "0") or 0)
    limits = {"cpu": opts.k8s_cpu, "memory": opts.k8s_memory}
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    container = {
        "name": "sweeper",
        "image": opts.k8s_image,
        "command": ["python", "-m", "sweeper"],
        "args": args,
        "env": [dict(e) for e in env],
        "resources": {"requests": dict(limits), "limits": limits},
        "volumeMounts": [{"name": "sweeps", "mountPath": opts.k8s_mount}],
    }
    claim = {"claimName": opts.k8s_pvc}
    return {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "sweeps", "persistentVolumeClaim": claim}],
    }


def write_manifests(plan: GridPlan, opts: K8sOptions) -> list[Path]:
    out = Path(opts.k8s_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for doc in manifests(plan, opts):
            num = int(doc["metadata"]["labels"]["sweeper/job-num"])
            path = out / f"job-{num:03d}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            paths.append(path)
    except OSError as e:
        raise ConfigError(f"plan.k8s_dir: cannot write {out}: {e.strerror}") from None
    return paths
