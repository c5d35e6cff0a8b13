"""CloudWatch's clock for ALB metrics (namespace AWS/ApplicationELB) and custom metrics
(PutMetricData), time-scaled.

- Minute buckets. An ALB publishes its metrics in 60-second buckets aligned to the
  minute, timestamped at the minute's start. Simulated minutes are aligned to a grid of
  60 / time_scale real seconds (one real second at the default scale of 60).
- Publication lag. A minute becomes readable only after a lag drawn per minute from
  60-180 simulated seconds after it ends; until then GetMetricData and alarms see
  nothing of it. The newest published minute may be partial: half of the minutes are
  first published with 60-95% of their data and grow once, 20-60 simulated seconds
  later, to their full value.
- GetMetricData / GetMetricStatistics: Period is in simulated seconds (as alarm periods
  are) and must be a multiple of 60 for these regular-resolution metrics, else
  InvalidParameterValue; a StartTime is rounded down to the (simulated) minute.

Sources (sim/aws/README.md): the ALB metrics page ("Elastic Load Balancing reports
metrics to CloudWatch only when requests are flowing ... every 60 seconds"), the
GetMetricData API reference (StartTime rounding; Period "must be a multiple of 60" for
regular-resolution metrics), and CloudWatch's note that metric data can be delayed
(Netflix Atlas offsets ALB queries by 2 minutes for this). AWS does not document the
lag's distribution; 60-180 s is what the issue measured and the less forgiving reading.
"""
import math
import random
from datetime import datetime, timedelta, timezone

from moto.cloudwatch.exceptions import InvalidParameterValue

from .core import sim

NAMESPACE = "AWS/ApplicationELB"
MINUTE = 60.0  # simulated seconds
LAG = (60.0, 180.0)  # simulated seconds after the minute ends
GROWTH = (20.0, 60.0)  # a partial minute grows this long after its first publication
PARTIAL_SHARE = (0.60, 0.95)
PARTIAL_CHANCE = 0.5

_rng = random.Random(20261126)
_pending: list = []  # (publish at sim time, cloudwatch backend, datums)


def minute_wall() -> float:
    """Real seconds per simulated minute."""
    return MINUTE / sim.time_scale


def minute_index(wall: float) -> int:
    return math.floor(wall / minute_wall() + 1e-9)


def minute_start(index: int) -> datetime:
    """A minute's timestamp as moto stores them (naive UTC)."""
    return datetime.fromtimestamp(index * minute_wall(), timezone.utc).replace(tzinfo=None)


def publish_later(cw, datums: list, split) -> None:
    """Queue a closed minute's datums; `split(datum, share)` makes a part of one."""
    if not datums:
        return
    at = sim.now + _rng.uniform(*LAG)
    if _rng.random() < PARTIAL_CHANCE:
        share = _rng.uniform(*PARTIAL_SHARE)
        first = [split(d, share) for d in datums]
        rest = [split(d, 1.0 - share, remainder_of=f) if f is not None else d for d, f in zip(datums, first)]
        _pending.append((at, cw, [d for d in first if d is not None]))
        _pending.append((at + _rng.uniform(*GROWTH), cw, [d for d in rest if d is not None]))
    else:
        _pending.append((at, cw, datums))


def tick(_dt: float) -> None:
    """Publishes what is due: appended to moto's metric data, which every read sees."""
    due = [p for p in _pending if p[0] <= sim.now]
    if not due:
        return
    _pending[:] = [p for p in _pending if p[0] > sim.now]
    for _, cw, datums in due:
        cw.metric_data.extend(datums)
        stamp = datums[0].timestamp.replace(tzinfo=timezone.utc).timestamp() if datums else None
        if datums and datums[0].namespace != NAMESPACE:
            sim.record("custom_metric_published", minute=stamp, namespace=datums[0].namespace, metric=datums[0].name)
            continue
        groups = sorted({d.value for datum in datums for d in datum.dimensions if d.name == "TargetGroup"})
        sim.record("metrics_published", minute=stamp, target_groups=groups)


def max_delay_wall() -> float:
    """The longest a datum can be published after its timestamp, in real seconds."""
    return (MINUTE + LAG[1] + GROWTH[1]) / sim.time_scale


def reset() -> None:
    _pending.clear()


# --- the API's clock ------------------------------------------------------------------------
def check_period(period, where: str) -> float:
    """Validates a Period (simulated seconds) and returns it in real seconds."""
    p = int(period)
    if p <= 0 or p % 60:
        raise InvalidParameterValue(
            f"The parameter {where} must be a multiple of 60 for metrics with regular (60-second) resolution."
        )
    return p / sim.time_scale


def round_start(start: datetime) -> datetime:
    """StartTime less than 15 days ago is rounded down to the whole (simulated) minute."""
    aware = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    return minute_start(minute_index(aware.timestamp())).replace(tzinfo=start.tzinfo)


def scaled_periods(start: datetime, end: datetime, period_wall: float):
    """[(period start, period end)] from start to end, `period_wall` real seconds each."""
    step = timedelta(seconds=period_wall)
    t = start
    while t < end:
        yield t, t + step
        t += step


_orig_get_metric_data = None
_orig_get_metric_statistics = None


def _is_stat(query) -> bool:
    return bool(query.get("MetricStat"))


def _get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
    """MetricStat queries (ALB and custom namespaces alike) on CloudWatch's clock, metric math
    over them (metric_math.py); anything else (Metrics Insights) as moto does it."""
    from moto.cloudwatch.models import Dimension, Statistics

    from . import metric_math

    stats = [q for q in queries if _is_stat(q)]
    maths = [q for q in queries if "Expression" in q and not q["Expression"].startswith("SELECT")]
    others = [q for q in queries if not _is_stat(q) and q not in maths]
    results = {r["id"]: r for r in (_orig_get_metric_data(self, others, start_time, end_time, scan_by) if others else [])}
    start = round_start(start_time).replace(microsecond=0)
    end = end_time.replace(microsecond=0)
    if start.tzinfo:
        start, end = start.replace(tzinfo=None), end.astimezone(timezone.utc).replace(tzinfo=None)
    if (stats or maths) and start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    data = [md for md in self.get_all_metrics() if start <= md.timestamp < end] if stats else []
    for i, q in enumerate(queries):
        if not _is_stat(q):
            continue
        stat_spec = q["MetricStat"]
        period = check_period(stat_spec["Period"], f"MetricDataQueries.member.{i + 1}.MetricStat.Period")
        namespace, name = stat_spec["Metric"]["Namespace"], stat_spec["Metric"]["MetricName"]
        dims = sorted(Dimension(name=d["Name"], value=d["Value"]) for d in stat_spec["Metric"].get("Dimensions", []))
        unit = stat_spec.get("Unit")
        series = [md for md in data if md.namespace == namespace and md.name == name
                  and sorted(md.dimensions) == dims and (not unit or md.unit == unit)]
        values, stamps = [], []
        for p_start, p_end in scaled_periods(start, end, period):
            points = [md for md in series if p_start <= md.timestamp < p_end]
            if points:
                s = Statistics([stat_spec["Stat"]], p_start)
                s.metric_data = points
                values.append(s.get_statistics_for_type(stat_spec["Stat"]))
                stamps.append(p_start)
        results[q["Id"]] = {"id": q["Id"], "label": q.get("Label") or f"{name} {stat_spec['Stat']}",
                            "values": values, "timestamps": stamps, "status_code": "Complete"}
    for q in maths:
        values, stamps = metric_math.evaluate(q["Expression"], results)
        results[q["Id"]] = {"id": q["Id"], "label": q.get("Label") or q["Id"], "values": values,
                            "timestamps": stamps, "status_code": "Complete"}
    out = [results[q["Id"]] for q in queries if q.get("ReturnData", True) and q["Id"] in results]
    if scan_by == "TimestampDescending":
        for r in out:
            if r["id"] not in {q["Id"] for q in others}:
                r["values"], r["timestamps"] = list(reversed(r["values"])), list(reversed(r["timestamps"]))
    return out


_orig_put_metric_data = None


def _put_metric_data(self, namespace, metric_data):
    """A custom metric's datapoints become readable as ALB ones do: after their (simulated)
    minute ends and a lag drawn from LAG. AWS documents no figure for recent datapoints; the
    same lag as the ALB's is the less forgiving reading."""
    if namespace.startswith("AWS/"):
        return _orig_put_metric_data(self, namespace, metric_data)
    kept, self.metric_data = self.metric_data, []
    try:
        _orig_put_metric_data(self, namespace, metric_data)
        fresh = self.metric_data
    finally:
        self.metric_data = kept
    now_wall = datetime.now(timezone.utc).timestamp()
    by_minute: dict = {}  # one call's datums of one minute are published together
    for datum in fresh:
        stamp = datum.timestamp.replace(tzinfo=timezone.utc).timestamp() if datum.timestamp else now_wall
        by_minute.setdefault(minute_index(stamp), []).append(datum)
    for index, datums in by_minute.items():
        minute_end = (index + 1) * minute_wall()
        at = sim.now + max(0.0, minute_end - now_wall) * sim.time_scale + _rng.uniform(*LAG)
        _pending.append((at, self, datums))


def _get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None):
    if namespace == NAMESPACE:  # (custom namespaces: GetMetricStatistics keeps moto's real-time periods)
        period = check_period(period, "Period")
        start_time = round_start(start_time)
    return _orig_get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit)


def _with_messages(respond):
    """GetMetricData's answer carries `Messages` (empty when there are none), as AWS's own
    example shows (tests/fixtures/aws/cloudwatch); moto leaves it out."""
    def get_metric_data(self):
        answer = respond(self)
        answer.result.setdefault("Messages", [])
        return answer
    return get_metric_data


def install() -> None:
    global _orig_get_metric_data, _orig_get_metric_statistics, _orig_put_metric_data
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    CloudWatchResponse.get_metric_data = _with_messages(CloudWatchResponse.get_metric_data)

    _orig_get_metric_data = CloudWatchBackend.get_metric_data
    _orig_get_metric_statistics = CloudWatchBackend.get_metric_statistics
    _orig_put_metric_data = CloudWatchBackend.put_metric_data
    CloudWatchBackend.get_metric_data = _get_metric_data
    CloudWatchBackend.put_metric_data = _put_metric_data
    CloudWatchBackend.get_metric_statistics = _get_metric_statistics
