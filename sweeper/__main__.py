"""`python -m sweeper`: a tracked run starts its tracking helper first, so MLflow's import runs
on the other core while Hydra's is done here (sweeper.tracking.sidecar)."""

import sys

from sweeper.command_line import tracked_run

if tracked_run(sys.argv[1:]):
    from sweeper.tracking import sidecar

    sidecar.start()

from sweeper.cli import main

main()
