"""Spawning `prism proxy` in front of the fake and turning its log into violation records."""

from __future__ import annotations

import collections
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path
from typing import Callable

from .spec import SIM_DIR

PRISM_JS = SIM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# signale line: "[4:37:13 PM] › [HTTP SERVER] post /repos/o/r/check-runs ✖  error     Request terminated ..."
LINE = re.compile(
    r"^\[[^\]]*\]\s+\S+\s+\[(?P<name>[A-Z ]+)\](?: (?P<method>[a-z]+) (?P<path>\S+))?\s+\S+\s+"
    r"(?P<level>[a-z]+)\s+(?P<msg>.*)$"
)
FORWARD = re.compile(r'Forwarding "(?P<method>[a-z]+)" request to (?P<url>\S+?)(?:\.\.\.)?$')
TERMINATED = re.compile(r"Request terminated with error: https://stoplight\.io/prism/errors#(?P<code>[A-Z_]+): (?P<title>.*)$")
BARRIER = "/__github_fake_barrier__/"
LISTENING = re.compile(r"Prism is listening on (?P<url>\S+)")

REQUEST_ERRORS = {
    "UNPROCESSABLE_ENTITY": "request body, query or path does not match the spec (prism answered 422)",
    "NO_PATH_MATCHED_ERROR": "path not in the spec (prism answered 404)",
    "NO_METHOD_MATCHED_ERROR": "method not defined for this path in the spec (prism answered 405)",
    "UNAUTHORIZED": "security requirement not met (prism answered 401)",
    "NOT_ACCEPTABLE": "not acceptable (prism answered 406)",
    "UNSUPPORTED_MEDIA_TYPE": "unsupported media type (prism answered 415)",
}


def prism_cmd(spec: Path, upstream: str, host: str, port: int, errors: bool) -> list[str]:
    cmd = ["node", str(PRISM_JS), "proxy", str(spec), upstream, "-h", host, "-p", str(port), "-v", "info"]
    if errors:
        cmd.append("--errors")
    return cmd


try:
    _PRCTL = ctypes.CDLL("libc.so.6", use_errno=True).prctl  # resolved before any fork
except Exception:  # pragma: no cover - not glibc/Linux
    _PRCTL = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec (spawn prism before starting threads)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: prism gets SIGTERM if we die, even by SIGKILL


class Prism:
    """Runs prism and parses its log. `on_violation(dict)` is called per violation."""

    def __init__(self, cmd: list[str], on_violation: Callable[[dict], None], echo: bool = False,
                 log_file: str | None = None):
        self.cmd = cmd
        self.on_violation = on_violation
        self.echo = echo
        self.log_file = open(log_file, "a", buffering=1) if log_file else None
        self.lines: collections.deque[str] = collections.deque(maxlen=2000)
        self.ready = threading.Event()
        self.exited = threading.Event()
        self.url: str | None = None
        self._last_forward: tuple[str, str] | None = None
        self._barriers: dict[str, threading.Event] = {}
        self._barrier_lock = threading.Lock()
        env = dict(os.environ, FORCE_COLOR="0", NO_COLOR="1")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=str(SIM_DIR), env=env, preexec_fn=_die_with_parent,
            process_group=0,  # a Ctrl-C in a terminal reaches us, and we stop prism ourselves
        )
        self._reader = threading.Thread(target=self._read, name="prism-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\n")
            self.lines.append(line)
            if self.log_file:
                self.log_file.write(line + "\n")
            try:
                self._parse(line)
            except Exception as e:  # never let parsing kill the reader
                print(f"github-fake: cannot parse prism line {line!r}: {e}", file=sys.stderr)
        self.exited.set()

    def _parse(self, line: str) -> None:
        m = LINE.match(line)
        if not m:
            return
        name, level, msg = m.group("name").strip(), m.group("level"), m.group("msg")
        if self.echo and (level in ("warning", "error", "fatal") or "Forwarding" in msg):
            print(f"prism: {line}", file=sys.stderr, flush=True)
        if name == "CLI":
            lm = LISTENING.search(msg)
            if lm:
                self.url = lm.group("url")
                self.ready.set()
            return
        if name == "PROXY":
            fm = FORWARD.search(msg)
            if fm and BARRIER in fm.group("url"):
                self._last_forward = ("", BARRIER)
            elif fm:
                path = re.sub(r"^[a-z]+://[^/]+", "", fm.group("url")).split("?", 1)[0]
                self._last_forward = (fm.group("method").upper(), path)
            return
        if name == "VALIDATOR":
            if self._last_forward and self._last_forward[1] == BARRIER:
                return
            vm = re.match(r"Violation: (?P<loc>\S*) ?(?P<text>.*)$", msg)
            loc = vm.group("loc") if vm else ""
            kind = "request" if loc.startswith("request") else "response"
            v = {"kind": kind, "severity": level, "location": loc, "message": vm.group("text") if vm else msg,
                 "source": "prism-log"}
            if self._last_forward:
                v["method"], v["path"] = self._last_forward
            self.on_violation(v)
            return
        if name == "HTTP SERVER":
            path = m.group("path") or ""
            if path.startswith(BARRIER):
                # its first line ("Request received") suffices: prism logs an answered request's
                # violations no later than right after answering, i.e. before this line.
                self._last_forward = ("", BARRIER)
                with self._barrier_lock:
                    ev = self._barriers.get(path[len(BARRIER):])
                if ev is not None:
                    ev.set()
                return
            tm = TERMINATED.search(msg)
            if not tm:
                return
            code = tm.group("code")
            method = (m.group("method") or "").upper()
            path = m.group("path") or ""
            if code == "VIOLATIONS":
                self.on_violation({"kind": "response", "severity": "error", "method": method, "path": path,
                                   "prism_error": code,
                                   "message": "response does not match the spec; prism replaced it with a 500 "
                                              "(see details)",
                                   "source": "prism-log"})
            else:
                self.on_violation({"kind": "request", "severity": "error", "method": method, "path": path,
                                   "prism_error": code,
                                   "message": REQUEST_ERRORS.get(code, tm.group("title")),
                                   "source": "prism-log"})

    def barrier(self, timeout: float = 3.0) -> bool:
        """Wait until prism has logged everything about requests answered so far.

        prism logs a violation just after (or before) it answers, so a client that reads
        /_fake/violations right after its call could miss it. We send prism a marker request
        (an unknown path, answered 404 without reaching the fake) and wait for its log line;
        prism's log is one ordered stream, so all earlier lines have been parsed by then.
        """
        if not self.ready.is_set() or self.proc.poll() is not None:
            return False
        nonce = uuid.uuid4().hex
        ev = threading.Event()
        with self._barrier_lock:
            self._barriers[nonce] = ev
        try:
            try:
                urllib.request.urlopen(f"{self.url}{BARRIER}{nonce}", timeout=timeout).close()
            except Exception:
                pass  # a 404 is expected
            return ev.wait(timeout)
        finally:
            with self._barrier_lock:
                self._barriers.pop(nonce, None)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
            except ProcessLookupError:
                pass
        if self.log_file:
            self.log_file.close()
