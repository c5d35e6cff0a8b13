"""Composite alarms: their AlarmRule evaluated against the other alarms' states, every tick,
after the metric alarms (issue 29, item 8).

The rule language is PutCompositeAlarm's (API reference, AlarmRule): ALARM(name), OK(name) and
INSUFFICIENT_DATA(name) are true when the named alarm (a name, in double quotes or not, or an
alarm ARN) is in that state; TRUE and FALSE; AND, OR and NOT, with parentheses ("NOT has the
highest precedence, then AND, then OR" is how the rules read; the simulator binds them so).
The composite is ALARM when its rule is true and OK otherwise; it starts INSUFFICIENT_DATA,
like every new alarm, until its first evaluation. A name no alarm has is taken as
INSUFFICIENT_DATA. A rule the simulator cannot parse leaves the alarm as it is, never OK.
"""
import json
import re

from moto.core.utils import utcnow

from .core import sim

TOKEN = re.compile(r'\s*(?:(ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*("(?:[^"\\]|\\.)*"|[^()"\s][^()]*?)\s*\)'
                   r"|(TRUE|FALSE|AND|OR|NOT)\b|(\(|\)))")


class RuleError(ValueError):
    pass


def tokens(rule: str) -> list:
    out, pos = [], 0
    while pos < len(rule.rstrip()):
        m = TOKEN.match(rule, pos)
        if not m:
            raise RuleError(f"cannot read the alarm rule at '{rule[pos:pos + 20]}'")
        state, name, word, paren = m.groups()
        if state:
            out.append(("state", state, name.strip('"')))
        else:
            out.append(("word", word or paren))
        pos = m.end()
    return out


def evaluate(rule: str, state_of) -> tuple[bool, list]:
    """(value, the alarms whose states made it): `state_of(name)` gives an alarm's state."""
    toks, used = tokens(rule), []

    def atom(i):
        if i >= len(toks):
            raise RuleError("the alarm rule ends early")
        t = toks[i]
        if t[0] == "state":
            used.append(t[2])
            return state_of(t[2]) == t[1], i + 1
        if t[1] == "NOT":
            v, i = atom(i + 1)
            return not v, i
        if t[1] == "(":
            v, i = disjunction(i + 1)
            if i >= len(toks) or toks[i] != ("word", ")"):
                raise RuleError("a '(' in the alarm rule is not closed")
            return v, i + 1
        if t[1] in ("TRUE", "FALSE"):
            return t[1] == "TRUE", i + 1
        raise RuleError(f"unexpected '{t[1]}' in the alarm rule")

    def conjunction(i):
        v, i = atom(i)
        while i < len(toks) and toks[i] == ("word", "AND"):
            w, i = atom(i + 1)
            v = v and w
        return v, i

    def disjunction(i):
        v, i = conjunction(i)
        while i < len(toks) and toks[i] == ("word", "OR"):
            w, i = conjunction(i + 1)
            v = v or w
        return v, i

    value, end = disjunction(0)
    if end != len(toks):
        raise RuleError(f"unexpected '{toks[end][1]}' in the alarm rule")
    return value, used


def tick(cw) -> None:
    """Evaluates every composite alarm of one account and region, a composite on a composite
    included (the order is repeated until nothing changes, at most as many rounds as alarms)."""
    composites = [a for a in cw.alarms.values() if getattr(a, "rule", None)]
    by_key = {}
    for a in cw.alarms.values():
        by_key[a.name] = a
        by_key[a.alarm_arn] = a

    def state_of(name):
        alarm = by_key.get(name)
        return alarm.state_value if alarm else "INSUFFICIENT_DATA"

    for _ in range(len(composites)):
        changed = False
        for alarm in composites:
            try:
                value, used = evaluate(alarm.rule, state_of)
            except RuleError:
                continue
            state = "ALARM" if value else "OK"
            if state == alarm.state_value:
                continue
            now = utcnow()
            triggering = [{"arn": by_key[n].alarm_arn, "state": {"value": by_key[n].state_value,
                                                                  "timestamp": by_key[n].state_updated_timestamp.isoformat()}}
                          for n in dict.fromkeys(used) if n in by_key]
            names = ", ".join(t["arn"] for t in triggering) or "its rule"
            reason = f"{names} transitioned to {state} at {now.isoformat()}"
            previous = alarm.state_value
            alarm.update_state(reason, json.dumps({"triggeringAlarms": triggering}), state)
            sim.record("alarm_state", alarm=alarm.name, state=state, previous=previous, reason=reason, composite=True)
            changed = True
        if not changed:
            return


def _put_composite_alarm(self):
    """PutCompositeAlarm (moto has the model, not the call): an alarm with an AlarmRule, made
    the way moto's PutMetricAlarm makes one; its rule is checked here, as AWS refuses a rule it
    cannot read (ValidationError)."""
    from moto.cloudwatch.exceptions import ValidationError

    rule = self._get_param("AlarmRule") or ""
    try:
        tokens(rule)
        evaluate(rule, lambda _: "OK")
    except RuleError as e:
        raise ValidationError(f"AlarmRule: {e}")
    result = self.put_metric_alarm()
    alarm = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
    alarm.alarm_rule = rule
    return result


def install() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    CloudWatchResponse.put_composite_alarm = _put_composite_alarm
