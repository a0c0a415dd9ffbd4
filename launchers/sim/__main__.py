"""`python -m launchers.sim --port PORT [options]` (see launchers/sim/cli.py)."""

from __future__ import annotations

import sys

from launchers.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
