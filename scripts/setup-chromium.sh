#!/usr/bin/env bash
# Headless Chromium for the HTML report's browser tests (tests/integration/analysis/
# test_report_in_chromium.py): Debian's `chromium` package.
#
#   bash scripts/setup-chromium.sh     # exit 0 once `chromium` is on PATH, 1 when it cannot be
#
# Idempotent: a no-op when `chromium` is already installed. It installs only as root (apt-get);
# otherwise it says what to run and exits 1.
set -euo pipefail

log() { echo "[setup-chromium] $*" >&2; }

if command -v chromium >/dev/null 2>&1; then
    log "already installed: $(command -v chromium)"
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
    log "chromium is missing and this is not root: run 'sudo apt-get install -y chromium'"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    log "chromium is missing and there is no apt-get: install a headless-capable chromium"
    exit 1
fi
log "installing Debian's chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
log "installed: $(command -v chromium)"
