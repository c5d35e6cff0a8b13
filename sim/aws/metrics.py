"""ALB traffic and its CloudWatch metrics (namespace AWS/ApplicationELB).

Each tick every application load balancer receives requests_per_minute * dt
simulated requests. They are split across listeners with a forward default
action, by the current (weighted ForwardConfig) weights read from moto, then
evenly over the healthy targets of each target group (fail-open to unhealthy
targets; none at all -> HTTPCode_ELB_5XX_Count). Each target answers with the
error rate and latency of its image's scenario.

Requests are accumulated per simulated minute (cw_clock's grid) and, when the
minute ends, handed to cw_clock, which publishes them into moto's CloudWatch
backend 60-180 simulated seconds later, timestamped at the minute's start (real
wall-clock time), sometimes partial first: one datapoint per metric and minute,
per (TargetGroup, LoadBalancer) and per LoadBalancer: RequestCount,
HTTPCode_Target_5XX_Count (only when > 0, as AWS), TargetResponseTime (seconds).
Which requests fail is drawn per minute (binomial at the scenario's rates, seeded), and so is
each answered request's response time: a minute's TargetResponseTime carries its own requests'
values, so percentile statistics (p99, p50, ...) and percentile ranks (PR(:0.5)) work in
GetMetricData, GetMetricStatistics (ExtendedStatistics) and alarms, with a small group's
minute as noisy as on AWS.
"""
import functools
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import NormalDist

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.models import Dimension, MetricAggregatedDatum, MetricDatum, Statistics
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.utils import utcnow
from moto.elbv2.models import ELBv2Backend

from . import cw_clock, elb_health
from .routing import forward_weights, listener_weights, routes
from .core import sim

NAMESPACE = "AWS/ApplicationELB"
RETENTION_WALL_SECONDS = 900.0  # older simulator datapoints are pruned
PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")
# Percentile rank: the percentage of values above the lower bound (exclusive) and at most the
# upper (inclusive), e.g. PR(:0.5) (CloudWatch statistics definitions, "Percentile rank").
PERCENTILE_RANK = re.compile(r"PR\((\d+(?:\.\d*)?|\.\d+)?:(\d+(?:\.\d*)?|\.\d+)?\)")
GAUGES = ("HealthyHostCount", "UnHealthyHostCount")  # sampled counts: Sum is not a request count


class SimDatum(MetricAggregatedDatum):
    """An aggregated datapoint plus weighted latency samples for percentiles."""

    def __init__(self, name, dims, n, total, lo, hi, unit, samples=()):
        super().__init__(NAMESPACE, name, float(lo), float(hi), float(n), float(total), dims, None, unit)
        self.samples = list(samples)
        self.args = (name, dims, lo, hi, unit)


def split(d: "SimDatum", share: float, remainder_of: "SimDatum | None" = None) -> "SimDatum | None":
    """A part of a datum (a minute published partially): whole counts, the same latency mix."""
    name, dims, lo, hi, unit = d.args
    if remainder_of is not None:
        n = d.sample_count - remainder_of.sample_count
        total = d.sum - remainder_of.sum
    else:
        n = math.floor(d.sample_count * share)
        total = d.sum * (n / d.sample_count) if d.sample_count else 0.0
        if d.unit == "Count" and name not in GAUGES:
            total = n
    if n <= 0:
        return None
    samples = [(v, w * n / d.sample_count) for v, w in d.samples]
    part = SimDatum(name, dims, n, total, lo, hi, unit, samples)
    part.timestamp = d.timestamp
    return part


@functools.lru_cache(maxsize=256)
def lognormal(mean_ms: float, p99_ms: float) -> tuple:
    """(mu, sigma) of a log-normal response time in ms with the given mean and p99."""
    z, d = NormalDist().inv_cdf(0.99), math.log(max(p99_ms, 1e-3) / max(mean_ms, 1e-3))
    s = z - math.sqrt(z * z - 2 * d) if 0 < d < z * z / 2 else (z if d > 0 else 0.01)
    return math.log(max(mean_ms, 1e-3)) - s * s / 2, s


EXACT_TAIL = 0.10  # the slowest tenth of a minute's requests is kept value by value ...
BODY_POINTS = 40  # ... the rest as this many equal-count groups, each at its slowest value


def draw_latencies(rng, acc: "Acc", n: int) -> list:
    """Response times (seconds) of a minute's n answered requests, each drawn from its target's
    log-normal (seeded: /_sim/config traffic_seed). On AWS a minute's p99 is the p99 of the
    requests it served: with 50 requests it is nearly their slowest one, noisy from minute to
    minute and biased by the count. A true-distribution p99 whatever the count would be kinder
    than AWS to a gate on small canaries (issue 29, item 2)."""
    served = sum(acc.latency.values())
    out = []
    if n <= 0 or served <= 0:
        return out
    for (mean_ms, p99_ms), weight in acc.latency.items():
        mu, sigma = lognormal(mean_ms, p99_ms)
        out += [math.exp(rng.gauss(mu, sigma)) / 1000.0 for _ in range(round(n * weight / served))]
    return out


def summarise(values: list) -> list:
    """(value, weight) points of a sorted-or-not sample: the slowest EXACT_TAIL exactly (so any
    percentile or percentile rank from p90 up is the sample's own), the rest as groups at their
    slowest value (a coarse body never makes the service look faster than it was)."""
    values = sorted(values)
    n = len(values)
    tail = max(1, math.ceil(n * EXACT_TAIL))
    body = values[: n - tail]
    points = []
    size = max(1, math.ceil(len(body) / BODY_POINTS))
    for i in range(0, len(body), size):
        group = body[i : i + size]
        points.append((group[-1], float(len(group))))
    return points + [(v, 1.0) for v in values[n - tail :]]


def weighted_percentile(points, pct: float):
    points = sorted(points)
    total, acc = sum(w for _, w in points), 0.0
    for value, weight in points:
        acc += weight
        if acc >= pct / 100.0 * total - 1e-9:
            return value
    return points[-1][0] if points else None


@dataclass
class Acc:
    requests: float = 0.0
    errors: float = 0.0
    latency: dict = field(default_factory=lambda: defaultdict(float))  # (mean_ms, p99_ms) -> requests
    conn_errors: float = 0.0  # TargetConnectionErrorCount: the ALB chose a target and could not connect
    hung: float = 0.0  # connected, never answered within the idle timeout: the ALB's 504
    hosts: list = field(default_factory=list)  # (healthy, unhealthy) target counts, one per tick


class Traffic:
    """Per load balancer, kept on moto's FakeLoadBalancer as `lb.sim_traffic`."""

    def __init__(self):
        self.carry = defaultdict(float)  # fractional requests/errors carried between flushes
        self.timeouts_due = 0  # the 504s of requests that arrived in the minute before this one
        self.new_bucket()

    def new_bucket(self) -> None:
        self.minute = cw_clock.minute_index(time.time())
        self.lb, self.tgs = Acc(), defaultdict(Acc)
        self.elb = defaultdict(float)  # ALB-generated errors by code: 502 (connection), 503 (no target)

    def whole(self, key, value: float) -> int:
        total = self.carry[key] + value
        n = int(math.floor(total + 1e-9))
        self.carry[key] = total - n
        return n


def _route(backend, lb, traffic: Traffic, requests: float) -> None:
    for share, weights in routes(lb):
        total = sum(weights.values())
        for tg_arn, weight in weights.items():
            tg = backend.target_groups.get(tg_arn)
            n = requests * share * (weight / total if total else 0)
            if tg is None or n <= 0:
                continue
            traffic.lb.requests += n
            hs = elb_health.health(tg).values()
            targets = [h for h in hs if h.state == "healthy"] or [h for h in hs if h.state == "unhealthy"]
            if not targets:  # rejected before a target is chosen: not in the group's RequestCount
                traffic.elb[503] += n
                continue
            tg_acc = traffic.tgs[tg_arn]
            tg_acc.requests += n
            for th in targets:
                part = n / len(targets)
                refused = part * th.scenario.connection_error_rate
                hung = (part - refused) * th.scenario.hang_rate
                tg_acc.conn_errors += refused
                tg_acc.hung += hung
                answered = part - refused - hung
                for acc in (tg_acc, traffic.lb):
                    acc.errors += answered * th.scenario.error_rate
                    acc.latency[(th.scenario.mean_ms, th.scenario.p99_ms)] += answered


def _sample_hosts(backend, lb, traffic: Traffic) -> None:
    """Each routed-to group's healthy and unhealthy target counts, once a tick."""
    groups = {tg for _, weights in routes(lb) for tg in weights}
    for tg_arn in groups:
        tg = backend.target_groups.get(tg_arn)
        if tg is not None:
            states = [h.state for h in elb_health.health(tg).values()]
            traffic.tgs[tg_arn].hosts.append((states.count("healthy"), states.count("unhealthy")))


def binomial(rng, n: int, p: float) -> int:
    """Failures among n requests that each fail with chance p: exact below 2,000 requests, a
    rounded normal approximation above (n·p·(1−p) is large there)."""
    p = min(max(p, 0.0), 1.0)
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n <= 2000:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(mean, sd))))


def draw(traffic: Traffic, key: str, acc: Acc) -> tuple[int, int, int, int]:
    """A minute's whole requests, connection errors, target 5xx and hung requests for one
    group. Which
    requests fail is drawn (binomial at the scenario's rates, seeded: /_sim/config
    traffic_seed): a real service's 1% error rate is 0, 1 or 3 errors in a minute of 100
    requests, never exactly one; judging on expected values would be kinder than AWS."""
    n = traffic.whole((key, "req"), acc.requests)
    rng = sim.traffic_rng
    conn = binomial(rng, n, acc.conn_errors / acc.requests) if acc.requests else 0
    served = acc.requests - acc.conn_errors
    hung = binomial(rng, n - conn, acc.hung / served) if served > 0 else 0
    answered = served - acc.hung
    errors = binomial(rng, n - conn - hung, acc.errors / answered) if answered > 0 else 0
    return n, conn, errors, hung


def _datums(acc: Acc, dims: list, n: int, codes: tuple, latencies: list) -> list:
    """One group's (or the load balancer's) datapoints of a minute. `codes`: (target 5xx,
    connection errors, hung): the rest of the requests are answered 2xx by their target."""
    errors, refused, hung = codes
    out = []
    if n:
        out.append(SimDatum("RequestCount", dims, n, n, 1, 1, "Count"))
    ok = n - errors - refused - hung
    if ok > 0:  # only when > 0, as AWS reports every HTTPCode_ metric
        out.append(SimDatum("HTTPCode_Target_2XX_Count", dims, ok, ok, 1, 1, "Count"))
    if errors:
        out.append(SimDatum("HTTPCode_Target_5XX_Count", dims, errors, errors, 1, 1, "Count"))
    if latencies:
        k = len(latencies)
        out.append(SimDatum("TargetResponseTime", dims, k, sum(latencies), min(latencies), max(latencies),
                            "Seconds", summarise(latencies)))
    if refused and len(dims) > 1:  # per group (the load balancer's own series is not simulated)
        out.append(SimDatum("TargetConnectionErrorCount", dims, refused, refused, 1, 1, "Count"))
    for i, name in enumerate(("HealthyHostCount", "UnHealthyHostCount")):
        counts = [h[i] for h in acc.hosts]
        if counts:
            out.append(SimDatum(name, dims, len(counts), sum(counts), min(counts), max(counts), "Count"))
    return out


def _flush(cw, lb, traffic: Traffic) -> None:
    lb_dim = {"Name": "LoadBalancer", "Value": lb.arn.split(":loadbalancer/", 1)[1]}
    datums, lb_errors, lb_refused, lb_hung, lb_latencies = [], 0, 0, 0, []
    for tg_arn, acc in traffic.tgs.items():
        tg_dim = {"Name": "TargetGroup", "Value": tg_arn.split(":", 5)[5]}  # targetgroup/NAME/ID
        n, refused, errors, hung = draw(traffic, tg_arn, acc)
        lb_errors, lb_refused, lb_hung = lb_errors + errors, lb_refused + refused, lb_hung + hung
        latencies = draw_latencies(sim.traffic_rng, acc, n - refused - hung)
        lb_latencies += latencies
        datums += _datums(acc, [tg_dim, lb_dim], n, (errors, refused, hung), latencies)
    # The load balancer's own counts are its groups' drawn ones, not a second draw.
    lb_requests = traffic.whole(("", "req"), traffic.lb.requests)
    datums += _datums(traffic.lb, [lb_dim], lb_requests, (lb_errors, lb_refused, lb_hung), lb_latencies)
    # A hung request is answered 504 when the idle timeout (60 s by default) runs out: counted
    # with the minute after the one it arrived in (AWS does not say which; the later one is
    # the less forgiving reading for a judge).
    timeouts, traffic.timeouts_due = traffic.timeouts_due, lb_hung
    total_5xx = 0
    for code in (502, 503, 504):
        n = {502: lb_refused, 504: timeouts}.get(code)
        n = traffic.whole(("", code), traffic.elb[code]) if n is None else n
        total_5xx += n
        if n:
            datums.append(SimDatum(f"HTTPCode_ELB_{code}_Count", [lb_dim], n, n, 1, 1, "Count"))
    if total_5xx:
        datums.append(SimDatum("HTTPCode_ELB_5XX_Count", [lb_dim], total_5xx, total_5xx, 1, 1, "Count"))
    stamp = cw_clock.minute_start(traffic.minute)  # CloudWatch stamps a minute at its start
    for d in datums:
        d.timestamp = stamp
    cw_clock.publish_later(cw, datums, split)
    traffic.new_bucket()


_last_prune = [0.0]


def _prune(cw) -> None:
    cutoff = utcnow() - timedelta(seconds=RETENTION_WALL_SECONDS)
    cw.metric_data = [m for m in cw.metric_data if not (isinstance(m, SimDatum) and m.timestamp < cutoff)]


def tick(dt: float) -> None:
    prune = time.time() - _last_prune[0] > 30
    for backend in elb_health.all_backends():
        cw = cw_models.cloudwatch_backends[backend.account_id][backend.region_name]
        for lb in list(backend.load_balancers.values()):
            if lb.type != "application":
                continue
            traffic = lb.__dict__.setdefault("sim_traffic", Traffic())
            if cw_clock.minute_index(time.time()) != traffic.minute:
                _flush(cw, lb, traffic)
            requests = sim.rpm_for(lb.name, lb.arn) / 60.0 * dt
            if requests > 0:
                _route(backend, lb, traffic, requests)
            _sample_hosts(backend, lb, traffic)
        if prune:
            _prune(cw)
    if prune:
        _last_prune[0] = time.time()


# --- moto patches ---------------------------------------------------------------------------
_orig_stat = Statistics.get_statistics_for_type
_orig_get_metric_statistics = CloudWatchResponse.get_metric_statistics
_orig_modify_listener = ELBv2Backend.modify_listener
_orig_modify_rule = ELBv2Backend.modify_rule


def _get_statistics_for_type(self, stat):
    """moto only knows Sum/Average/Minimum/Maximum/SampleCount: add percentiles (pNN, pNN.N)
    and percentile ranks (PR(lo:hi), as a percentage)."""
    m, rank = PERCENTILE.fullmatch(stat or ""), PERCENTILE_RANK.fullmatch(stat or "")
    if not m and not rank:
        return _orig_stat(self, stat)
    points = []
    for md in self.metric_data:
        if isinstance(md, SimDatum):
            points += md.samples
        elif isinstance(md, MetricDatum):
            points.append((md.value, 1.0))
        elif isinstance(md, MetricAggregatedDatum):  # no distribution known: use its maximum
            points.append((md.max, md.sample_count))
    if not points:
        return None
    if rank:
        lo = float(rank.group(1)) if rank.group(1) else -math.inf
        hi = float(rank.group(2)) if rank.group(2) else math.inf
        total = sum(w for _, w in points)
        return 100.0 * sum(w for v, w in points if lo < v <= hi) / total if total else None
    return weighted_percentile(points, float(m.group(1)))


def _get_metric_statistics(self):
    """GetMetricStatistics: exact dimension match (moto matches subsets) and ExtendedStatistics."""
    result = _orig_get_metric_statistics(self)
    want = sorted((d["Name"], d["Value"]) for d in self._get_param("Dimensions", []))
    extended = self._get_param("ExtendedStatistics") or []
    datapoints = []
    for s in result.result["Datapoints"]:
        s.metric_data = [md for md in s.metric_data if sorted((d.name, d.value) for d in md.dimensions) == want]
        if s.metric_data:
            s.extended_statistics = {p: _get_statistics_for_type(s, p) for p in extended}
            datapoints.append(s)
    result.result["Datapoints"] = datapoints
    return result


def _modify_listener(self, arn, *args, **kwargs):
    """Log weight changes with their exact wall-clock time (benchmarks measure against it)."""
    listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
    lb = self.load_balancers[listener.load_balancer_arn]
    before = listener_weights(lb).get(arn)
    result = _orig_modify_listener(self, arn, *args, **kwargs)
    after = listener_weights(lb).get(arn)
    if after != before:
        sim.record("weights_changed", load_balancer=lb.arn, listener=arn, weights=after)
    return result


def _modify_rule(self, rule_arn, *args, **kwargs):
    """Log a rule's weight changes like a listener's (the rule's ARN in `listener`)."""
    rule = self.describe_rules(listener_arn=None, rule_arns=[rule_arn])[0]
    before = forward_weights(rule.actions)
    result = _orig_modify_rule(self, rule_arn, *args, **kwargs)
    after = forward_weights(rule.actions)
    if after != before:
        listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[rule.listener_arn])[0]
        sim.record("weights_changed", load_balancer=listener.load_balancer_arn, listener=rule_arn, weights=after)
    return result


def install() -> None:
    Statistics.get_statistics_for_type = _get_statistics_for_type
    CloudWatchResponse.get_metric_statistics = _get_metric_statistics
    ELBv2Backend.modify_listener = _modify_listener
    ELBv2Backend.modify_rule = _modify_rule
    # moto's Dimension.__lt__ is broken, so GetMetricData's sorted(dims) == sorted(dims)
    # depended on the order the caller listed dimensions in. Sort by (name, value).
    Dimension.__lt__ = lambda self, other: (self.name or "", self.value or "") < (other.name or "", other.value or "")
