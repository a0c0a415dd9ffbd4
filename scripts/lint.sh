#!/usr/bin/env bash
# The static checks, each run whatever the others gave, then one summary line per failed check:
# ruff (lint, then format), the import layers (pyproject's [tool.importlinter]), import cycles,
# mypy (pyproject's [tool.mypy]). Exit 1 when any failed.
#   bash scripts/lint.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=()
check() {
    echo "[lint] $*" >&2
    "$@" || failed+=("$*")
}

check python3 -m ruff check .
check python3 -m ruff format --check .
check lint-imports
check python3 scripts/check_import_cycles.py
check python3 -m mypy

if ((${#failed[@]})); then
    printf '[lint] FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "[lint] all checks passed" >&2
