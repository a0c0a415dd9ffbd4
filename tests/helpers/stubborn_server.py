"""An OpenAI-compatible server that ignores SIGTERM and leaves a child behind, for the orphan
tests; `stubborn_wrapper.sh` starts it as users' wrapper scripts start servers.

python -m tests.helpers.stubborn_server PORT [--model NAME]

It serves well-formed streams (`bad_sse_server`'s `good` mode), ignores SIGTERM, and starts an
"engine" child that calls setsid (leaving the server's process group and session) and ignores
SIGTERM too: only a kill that follows the whole tree, or the environment marker, gets it.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from aiohttp import web

from tests.helpers.bad_sse_server import build_app

ENGINE = (
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "time.sleep(3600)"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--model", default="bad-model")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", ENGINE])
    web.run_app(
        build_app(args.model, ["good"]),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        handle_signals=False,
    )


if __name__ == "__main__":
    main()
