"""Shared simulator state, the simulated clock and the ticker thread.

Everything the behaviour modules keep between ticks lives either here (config,
scenarios, faults, call log, event log) or as extra attributes on moto's own
objects (so moto's reset wipes it). One RLock guards both: the ticker holds it
for a whole tick, the WSGI layer holds it around every moto call.
"""
import sys
import random
import threading
import time
import traceback

from . import scenarios

TICK_SECONDS = 0.05  # real seconds between ticks
MAX_LOG = 20000  # entries kept in the call and event logs


class Sim:
    def __init__(self, time_scale: float = 60.0):
        self.lock = threading.RLock()
        self.start_time_scale = time_scale
        self.now = 0.0  # simulated seconds since start; never goes back, not even on reset
        self._ip_counter = 0
        self.reset()

    def reset(self) -> None:
        """Sim state back to start values (moto's own reset is done by the caller)."""
        with self.lock:
            self.time_scale = self.start_time_scale
            self.requests_per_minute = 600.0  # simulated requests per minute per load balancer
            self.requests_per_minute_by_lb: dict[str, float] = {}  # LB name or ARN -> rpm
            self.rule_shares: dict[str, float] = {}  # listener rule ARN -> share of its listener's requests
            self.sticky_session_seconds: float | None = None  # a client's visit; None: as long as its cookie
            self.tag_visibility_seconds = 2.5  # simulated seconds before other callers see an ECS tag change
            self.traffic_seed = 20261126  # seeds each minute's draw of which requests fail (metrics.py)
            self.traffic_rng = random.Random(self.traffic_seed)
            self.tag_writes: list[dict] = []
            self.parameter_visibility_seconds = 2.5  # simulated seconds before other callers see a PutParameter
            self.parameter_writes: list[dict] = []
            self.blob_urls: dict[str, tuple[bytes, float]] = {}  # ECR download-URL token -> (bytes, expiry)
            self.scenarios: dict[str, dict] = {}
            self.faults: list = []
            self.calls: list[dict] = []
            self.events: list[dict] = []
            self.iam_policies: dict[str, dict] = {}  # access key -> enforced identity policy
            self.model_violations: list[dict] = []  # answers that broke botocore's output shapes
            self.answers_checked = 0

    # --- helpers used by the behaviour modules -------------------------------------
    def scenario_for(self, image: str | None) -> scenarios.Scenario:
        return scenarios.lookup(self.scenarios, image)

    def rpm_for(self, lb_name: str, lb_arn: str) -> float:
        by_lb = self.requests_per_minute_by_lb
        return float(by_lb.get(lb_arn, by_lb.get(lb_name, self.requests_per_minute)))

    def next_ip(self) -> str:
        """A fake, unique private IP (10.0.0.0/8) for a task; never contacted."""
        self._ip_counter += 1
        n = self._ip_counter + 256  # start at 10.0.1.1
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def record(self, kind: str, **details) -> None:
        """Append to the simulator's own event log (GET /_sim/events)."""
        self.events.append({"at": time.time(), "sim_time": round(self.now, 3), "type": kind, **details})
        del self.events[:-MAX_LOG]

    def log_call(self, call: dict) -> None:
        with self.lock:
            self.calls.append(call)
            del self.calls[:-MAX_LOG]


sim = Sim()


def run_ticker(stop: threading.Event, steps) -> None:
    """Every TICK_SECONDS advance simulated time by real_dt * time_scale and run each step(dt_sim)."""
    last = time.monotonic()
    while not stop.wait(TICK_SECONDS):
        now = time.monotonic()
        with sim.lock:
            dt_sim = (now - last) * sim.time_scale
            sim.now += dt_sim
            for step in steps:
                try:
                    step(dt_sim)
                except Exception:  # keep ticking; a bug in one step must not freeze time
                    traceback.print_exc(file=sys.stderr)
        last = now
