"""python -m sim.github [--port 0] [--prism-port 0] [--host 127.0.0.1] [--no-errors] [--prism-log FILE]
                        [--verbose] [--no-stdin-watch]

Starts the stateful GitHub fake, puts `prism proxy` (GitHub's OpenAPI description) in
front of it, and prints exactly one line when both are ready:

    READY http://127.0.0.1:PRISMPORT control=http://127.0.0.1:FAKEPORT

Point the action at the first URL (GITHUB_API_URL); use the second for /_fake/...
Exits (stopping prism) on SIGTERM, SIGINT, stdin EOF, or if prism dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time

from werkzeug.serving import make_server

from .fake import create_app
from .prism import PRISM_JS, Prism, prism_cmd
from .spec import get_spec


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.github", description=__doc__.split("\n\n")[1])
    ap.add_argument("--port", type=int, default=0, help="the fake's own port (control API); 0 = free port")
    ap.add_argument("--prism-port", type=int, default=0, help="prism's port (the API URL); 0 = free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--no-errors", action="store_true",
                    help="run prism without --errors: invalid requests are forwarded (and only reported)")
    ap.add_argument("--prism-log", help="append prism's full log to this file")
    ap.add_argument("--verbose", action="store_true", help="echo prism warnings/errors to stderr")
    ap.add_argument("--no-stdin-watch", action="store_true",
                    help="don't exit on stdin EOF (for running it in the background by hand)")
    ap.add_argument("--ready-timeout", type=float, default=120.0)
    args = ap.parse_args(argv)

    if not PRISM_JS.exists():
        print(f"github-fake: {PRISM_JS} missing; run `npm install` in sim/", file=sys.stderr)
        return 2
    import logging

    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)
    spec = get_spec()
    app, state = create_app(spec)
    server = make_server(args.host, args.port, app, threaded=True)  # binds now, serves later
    fake_port = server.server_port
    prism_port = args.prism_port or free_port(args.host)
    state.api_base = f"http://{args.host}:{prism_port}"

    stop = threading.Event()
    reason = {"why": None}

    def request_stop(why: str) -> None:
        if reason["why"] is None:
            reason["why"] = why
        stop.set()

    signal.signal(signal.SIGTERM, lambda *_: request_stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: request_stop("SIGINT"))

    # Spawn prism before starting any thread (its pre-exec hook must run in a single-threaded parent).
    prism = Prism(prism_cmd(spec.path, f"http://{args.host}:{fake_port}", args.host, prism_port,
                            errors=not args.no_errors),
                  state.add_violation, echo=args.verbose, log_file=args.prism_log)
    state.log_barrier = prism.barrier
    threading.Thread(target=server.serve_forever, name="fake-http", daemon=True).start()

    def watch_prism() -> None:
        prism.exited.wait()
        prism.proc.wait()
        request_stop(f"prism exited with {prism.proc.returncode}")

    threading.Thread(target=watch_prism, name="prism-watch", daemon=True).start()

    if not args.no_stdin_watch:
        def watch_stdin() -> None:
            try:
                while os.read(sys.stdin.fileno(), 65536):
                    pass
            except OSError:
                pass
            request_stop("stdin EOF")

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    deadline = time.monotonic() + args.ready_timeout
    while not stop.is_set() and not prism.ready.is_set() and time.monotonic() < deadline:
        prism.ready.wait(0.1)
    ok = prism.ready.is_set() and not stop.is_set()
    if ok:
        # listening line seen; make sure the port accepts connections
        for _ in range(50):
            try:
                socket.create_connection((args.host, prism_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"READY http://{args.host}:{prism_port} control=http://{args.host}:{fake_port}", flush=True)
        while not stop.wait(0.5):
            pass
    else:
        why = reason["why"] or f"prism not ready after {args.ready_timeout:.0f} s"
        print(f"github-fake: startup failed: {why}\n" + "\n".join(list(prism.lines)[-30:]), file=sys.stderr)

    prism.stop()
    server.shutdown()
    server.server_close()
    code = 0 if ok and not (reason["why"] or "").startswith("prism exited") else 1
    print(f"github-fake: stopped ({reason['why']})", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
