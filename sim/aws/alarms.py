"""CloudWatch metric alarms, evaluated every tick against the data in moto's backend.

For an alarm with Period P (SIMULATED seconds, so P / time_scale real seconds)
and EvaluationPeriods N, the last N periods ending at the current (simulated)
minute each give one value (Statistic or ExtendedStatistic over the published
datapoints in that period, exact dimension match). Only published data counts
(cw_clock), so an alarm on an ALB metric goes to ALARM minutes after the errors
start, as on AWS. As CloudWatch does, an alarm retrieves more periods than N (an
evaluation range that here reaches back past the publication delay) and evaluates
the most recent N that have data; only when fewer than N have data are the rest
missing, treated as TreatMissingData says (AWS "Alarm evaluation": evaluation range). DatapointsToAlarm M (default N) breaching values -> ALARM,
otherwise OK; missing values follow TreatMissingData (missing, notBreaching,
breaching, ignore). Alarms start INSUFFICIENT_DATA, as in AWS; SetAlarmState
holds for one period, then the data decides again. An alarm on metric math (Metrics=[...])
is evaluated the same way on the value its returned query computes each period from its
metrics' statistics (metric_math.py's arithmetic; an expression it cannot compute gives no
value). Composite alarms follow their rule (composite_alarms.py).
"""
import json
import math
import operator
import time
from datetime import timedelta

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.models import CloudWatchBackend, Statistics
from moto.core.utils import utcnow

from . import composite_alarms, cw_clock, metric_math, metrics
from .core import sim

COMPARE = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}


def _recent(cw, cutoff):
    """Datapoints newer than cutoff: walk back until a simulator datapoint older than the cutoff by more
    than the publication delay (they are appended in publication order, at most that much out of order)."""
    stop = cutoff - timedelta(seconds=cw_clock.max_delay_wall())
    for md in reversed(cw.metric_data):
        if md.timestamp >= cutoff:
            yield md
        elif isinstance(md, metrics.SimDatum) and md.timestamp < stop:
            return


def _period_values(alarm, data, now):
    period_s = alarm.period or _math_period(alarm)
    period = timedelta(seconds=period_s / sim.time_scale)
    n = alarm.evaluation_periods
    end = cw_clock.minute_start(cw_clock.minute_index(time.time()))  # periods end on the minute grid
    extra = math.ceil(cw_clock.max_delay_wall() / period.total_seconds())
    values = []
    for i in range(n + extra):
        start = end - period * (n + extra - i)
        values.append((start, _value(alarm, data, start, period)))
    if extra:
        present = [v for v in values if v[1] is not None][-n:]
        return present + [(None, None)] * (n - len(present))
    return values


def _stat(stat, points, start):
    if not points:
        return None
    s = Statistics([stat], start)
    s.metric_data = points
    return s.get_statistics_for_type(stat)


def _value(alarm, data, start, period):
    """One period's value: the alarm's statistic, or for an alarm on metric math (Metrics=[...])
    the expression its returned query computes over its metrics' statistics (metric_math.py)."""
    window = [md for md in data if start <= md.timestamp < start + period]
    if not alarm.metric_data_queries:
        return _stat(alarm.extended_statistic or alarm.statistic, window, start)
    results = {}
    for q in alarm.metric_data_queries:
        if q.metric_stat is not None:
            m = q.metric_stat.metric
            want = sorted((d.name, d.value) for d in m.dimensions)
            points = [md for md in window if md.name == m.metric_name and md.namespace == m.namespace
                      and sorted((d.name, d.value) for d in md.dimensions) == want]
            v = _stat(q.metric_stat.stat, points, start)
            results[q.id] = {"timestamps": [start] if v is not None else [], "values": [v] if v is not None else []}
    try:
        for q in alarm.metric_data_queries:
            if q.expression:
                values, stamps = metric_math.evaluate(q.expression, results)
                results[q.id] = {"timestamps": stamps, "values": values}
    except Exception:  # noqa: BLE001 - an expression the simulator cannot compute: no value
        return None
    qs = alarm.metric_data_queries
    returned = [q for q in qs if str(q.return_data).lower() == "true"] or [q for q in qs if q.expression] or qs[:1]
    out = results.get(returned[0].id)
    return out["values"][0] if out and out["values"] else None


def _math_period(alarm):
    periods = [int(q.metric_stat.period) for q in alarm.metric_data_queries if q.metric_stat is not None]
    return max(periods) if periods else 60


def _evaluate(alarm, data, now) -> tuple[str, str, str] | None:
    compare, words = COMPARE.get(alarm.comparison_operator, (None, None))
    if compare is None:
        return None  # anomaly-detection operators are not simulated
    values = _period_values(alarm, data, now)
    present = [(t, v) for t, v in values if v is not None]
    missing = len(values) - len(present)
    need = alarm.datapoints_to_alarm or alarm.evaluation_periods
    treat = alarm.treat_missing_data or "missing"
    breaching = sum(compare(float(v), alarm.threshold) for _, v in present) + (missing if treat == "breaching" else 0)
    data_json = json.dumps({
        "version": "1.0", "queryDate": now.isoformat(), "statistic": alarm.extended_statistic or alarm.statistic,
        "period": alarm.period, "threshold": alarm.threshold,
        "recentDatapoints": [v for _, v in present], "evaluatedDatapoints": [{"timestamp": t.isoformat(), "value": v} for t, v in present],
    })
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        return "INSUFFICIENT_DATA", f"Insufficient Data: {missing} datapoint{'s were' if missing > 1 else ' was'} unknown.", data_json
    state = "ALARM" if breaching >= need else "OK"
    plural = lambda n, word: f"{n} {word}{'s were' if n > 1 else ' was'}"  # noqa: E731
    treated = f"{plural(missing, 'missing datapoint')} treated as [{'Breaching' if treat == 'breaching' else 'NonBreaching'}]"
    if not present:  # AWS wording in the style of its state reasons
        reason = f"Threshold Crossed: no datapoints were received for {missing} period{'s' if missing > 1 else ''} and {treated}."
        return state, reason, data_json
    n = breaching if state == "ALARM" else len(present)
    shown = ", ".join(f"{float(v)} ({t.strftime('%d/%m/%y %H:%M:%S')})" for t, v in reversed(present))  # newest first
    count = f"{n} out of the last {len(values)} datapoints" if len(values) > 1 else f"{n} datapoint"
    verb = ("were" if n > 1 else "was") + ("" if state == "ALARM" else " not")
    reason = f"Threshold Crossed: {count} [{shown}] {verb} {words} the threshold ({alarm.threshold})"
    if missing and treat in ("breaching", "notBreaching"):
        reason += f" and {treated}"
    transition = "OK -> ALARM" if state == "ALARM" else "ALARM -> OK"
    reason += f" (minimum {need} datapoint{'s' if need > 1 else ''} for {transition} transition)."
    return state, reason, data_json


def tick(_dt: float) -> None:
    now = utcnow()
    for account in list(cw_models.cloudwatch_backends.values()):
        for cw in list(account.values()):
            alarms = [a for a in cw.alarms.values() if (a.metric_name or a.metric_data_queries) and not a.rule]
            if not alarms:
                composite_alarms.tick(cw)
                continue
            longest = max((a.period or _math_period(a)) * a.evaluation_periods for a in alarms) / sim.time_scale
            recent = list(_recent(cw, now - timedelta(seconds=longest + cw_clock.max_delay_wall() + 1)))
            for alarm in alarms:
                if getattr(alarm, "sim_hold_until", 0.0) > sim.now:
                    continue
                if alarm.metric_data_queries:
                    data = recent  # each query picks its own metric (`_value`)
                else:
                    want = sorted((d.name, d.value) for d in alarm.dimensions)
                    data = [md for md in recent if md.name == alarm.metric_name and md.namespace == alarm.namespace
                            and sorted((d.name, d.value) for d in md.dimensions) == want
                            and (not alarm.unit or md.unit == alarm.unit)]
                result = _evaluate(alarm, data, now)
                if result and result[0] != alarm.state_value:
                    previous = alarm.state_value
                    alarm.update_state(result[1], result[2], result[0])
                    sim.record("alarm_state", alarm=alarm.name, state=result[0], previous=previous, reason=result[1])
            composite_alarms.tick(cw)


# --- moto patches ---------------------------------------------------------------------------
_orig_put_metric_alarm = CloudWatchBackend.put_metric_alarm
_orig_set_alarm_state = CloudWatchBackend.set_alarm_state


def _put_metric_alarm(self, name, *args, **kwargs):
    """New alarms start INSUFFICIENT_DATA (moto: OK); updating an alarm keeps its state (AWS)."""
    old = self.alarms.get(name)
    alarm = _orig_put_metric_alarm(self, name, *args, **kwargs)
    if old is None:
        alarm.state_value = "INSUFFICIENT_DATA"
    else:
        alarm.state_value, alarm.state_reason = old.state_value, old.state_reason
        alarm.state_reason_data, alarm.state_updated_timestamp = old.state_reason_data, old.state_updated_timestamp
    return alarm


def _set_alarm_state(self, alarm_name, reason, reason_data, state_value):
    previous = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
    _orig_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
    alarm = self.alarms[alarm_name]
    alarm.sim_hold_until = sim.now + (alarm.period or 60)
    if previous != state_value:
        sim.record("alarm_state", alarm=alarm_name, state=state_value, previous=previous, reason=reason, set_by="SetAlarmState")


def install() -> None:
    CloudWatchBackend.put_metric_alarm = _put_metric_alarm
    CloudWatchBackend.set_alarm_state = _set_alarm_state
