"""A toy HTTP server for process-lifecycle tests.

python -m tests.helpers.toy_server PORT [--child] [--exit-at-once] [--never-healthy]
    [--ignore-sigterm] [--pidfile PATH]
--child spawns a grandchild (in the same process group) that sleeps, to check group clean-up.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--exit-at-once", action="store_true")
    ap.add_argument("--never-healthy", action="store_true")
    ap.add_argument("--ignore-sigterm", action="store_true")
    ap.add_argument("--pidfile")
    ap.add_argument("--model", default="toy")
    return ap.parse_args()


def handler_class(args: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    """/health (503 with --never-healthy), /v1/models, and a prefix-cache reset counter."""
    resets = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(503 if args.never_healthy else 200, {})
            elif self.path == "/v1/models":
                self._send(200, {"data": [{"id": args.model}]})
            elif self.path == "/resets":
                self._send(200, resets)
            else:
                self._send(404, {})

        def do_POST(self) -> None:
            if self.path == "/reset_prefix_cache":
                resets["n"] += 1
                self._send(200, {})
            else:
                self._send(404, {})

    return Handler


def main() -> None:
    args = parse_args()
    print(f"toy server argv={sys.argv[1:]}", flush=True)
    if args.exit_at_once:
        print("toy server: fatal: bad argument --exit-at-once", flush=True)
        sys.exit(3)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pids = []
    if args.child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        pids.append(child.pid)
    if args.pidfile:
        Path(args.pidfile).write_text(json.dumps(pids))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_class(args))
    print("toy server ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
