"""Composite alarms follow their rule (issue 29, item 8). Source: PutCompositeAlarm API
reference (AlarmRule: ALARM/OK/INSUFFICIENT_DATA of a name or ARN, TRUE, FALSE, AND, OR, NOT,
parentheses), docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html.
"""
import json
import time

import pytest

from aws_sim import server, sim  # noqa: F401 (fixtures)
from sim.aws.composite_alarms import RuleError, evaluate


def test_the_rule_language():
    states = {"api-5xx": "ALARM", "api latency": "OK", "arn:aws:cloudwatch:us-east-1:1:alarm:db": "INSUFFICIENT_DATA"}
    state_of = lambda n: states.get(n, "INSUFFICIENT_DATA")  # noqa: E731
    assert evaluate('ALARM("api-5xx")', state_of) == (True, ["api-5xx"])
    assert evaluate('ALARM(api-5xx) AND OK("api latency")', state_of)[0]
    assert not evaluate('ALARM("api-5xx") AND NOT OK("api latency")', state_of)[0]
    assert evaluate('FALSE OR ALARM("api-5xx") AND TRUE', state_of)[0]  # AND binds tighter
    assert not evaluate('(FALSE OR ALARM("api-5xx")) AND FALSE', state_of)[0]
    assert evaluate("INSUFFICIENT_DATA(arn:aws:cloudwatch:us-east-1:1:alarm:db)", state_of)[0]
    assert evaluate('INSUFFICIENT_DATA("no such alarm")', state_of)[0]
    for bad in ['ALARM("a"', 'ALARM("a") AND', "MAYBE(a)", '(ALARM("a")']:
        with pytest.raises(RuleError):
            evaluate(bad, state_of)


def composite(cw, name):
    return cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]


def test_a_composite_alarm_follows_the_alarms_it_names(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60})
    cw = sim.client("cloudwatch")
    for name in ("svc-5xx", "svc-latency"):
        cw.put_metric_alarm(AlarmName=name, Namespace="Svc", MetricName=name, Statistic="Sum", Period=600,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                            TreatMissingData="notBreaching")
    cw.put_composite_alarm(AlarmName="svc-health", AlarmRule='ALARM("svc-5xx") OR ALARM(svc-latency)')
    assert composite(cw, "svc-health")["StateValue"] in ("INSUFFICIENT_DATA", "OK")
    assert composite(cw, "svc-health")["AlarmRule"] == 'ALARM("svc-5xx") OR ALARM(svc-latency)'
    with pytest.raises(cw.exceptions.ClientError, match="AlarmRule"):
        cw.put_composite_alarm(AlarmName="bad", AlarmRule='ALARM("svc-5xx") AND')
    sim.wait(lambda: composite(cw, "svc-health")["StateValue"] == "OK", what="the composite's first evaluation")
    cw.set_alarm_state(AlarmName="svc-latency", StateValue="ALARM", StateReason="test")
    alarm = sim.wait(lambda: (a := composite(cw, "svc-health"))["StateValue"] == "ALARM" and a, what="ALARM")
    triggering = json.loads(alarm["StateReasonData"])["triggeringAlarms"]
    assert [t["state"]["value"] for t in triggering if t["arn"].endswith(":alarm:svc-latency")] == ["ALARM"]
    # SetAlarmState holds for one period (600 simulated seconds): then the data (none,
    # notBreaching) puts the metric alarm back to OK, and the composite follows.
    sim.wait(lambda: composite(cw, "svc-health")["StateValue"] == "OK", timeout=30, what="back to OK")
    events = [e for e in sim.call("GET", "/_sim/events") if e["type"] == "alarm_state" and e["alarm"] == "svc-health"]
    assert [e["state"] for e in events][-2:] == ["ALARM", "OK"], events


def test_an_alarm_on_metric_math_follows_its_expression(sim):
    """PutMetricAlarm with Metrics=[...]: the returned query's value each period is compared
    with the threshold (CloudWatch "Create a CloudWatch alarm based on a metric math
    expression")."""
    sim.call("PUT", "/_sim/config", {"time_scale": 60})
    cw = sim.client("cloudwatch")

    def stat(qid, name):
        return {"Id": qid, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "Shop", "MetricName": name}, "Period": 60, "Stat": "Sum"}}
    cw.put_metric_alarm(AlarmName="shop-error-rate", EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        Metrics=[stat("m1", "Errors"), stat("m2", "Requests"),
                                 {"Id": "e1", "Expression": "100 * m1 / m2", "ReturnData": True}])

    def state():
        return cw.describe_alarms(AlarmNames=["shop-error-rate"])["MetricAlarms"][0]["StateValue"]
    sim.wait(lambda: state() == "OK", what="OK with no data (notBreaching)")
    deadline = time.time() + 20
    while state() != "ALARM":  # 10% errors, a minute at a time (1 real second at scale 60)
        assert time.time() < deadline, "the expression never breached"
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Errors", "Value": 10},
                                                          {"MetricName": "Requests", "Value": 100}])
        time.sleep(0.5)
    events = [e for e in sim.call("GET", "/_sim/events") if e["type"] == "alarm_state" and e["alarm"] == "shop-error-rate"]
    assert events[-1]["state"] == "ALARM" and "5.0" in events[-1]["reason"], events[-1]
