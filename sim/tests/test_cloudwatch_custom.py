"""Custom metrics (PutMetricData) on CloudWatch's clock, and metric math over them: a minute
is readable only after it ends and its publication lag, then per simulated minute."""
import datetime
import time

import botocore.exceptions
import pytest

from aws_sim import server, sim  # noqa: F401 (fixtures)

DIMS = [{"Name": "Service", "Value": "worker-green"}]


def put(cw, *datums):
    cw.put_metric_data(Namespace="TaskQueue/Production", MetricData=[
        {"MetricName": metric, "Dimensions": DIMS, "Value": value} for metric, value in datums])


def read(cw, queries, since):
    now = datetime.datetime.now(datetime.timezone.utc)
    out = cw.get_metric_data(MetricDataQueries=queries, StartTime=since, EndTime=now + datetime.timedelta(seconds=5))
    return {r["Id"]: dict(zip(r["Timestamps"], r["Values"])) for r in out["MetricDataResults"]}


def stat(qid, metric, stat_name, return_data=True):
    return {"Id": qid, "ReturnData": return_data, "MetricStat": {"Metric": {
        "Namespace": "TaskQueue/Production", "MetricName": metric, "Dimensions": DIMS}, "Period": 60, "Stat": stat_name}}


def test_custom_datapoints_are_published_late_by_minute_and_metric_math_divides_them(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60})
    cw = sim.client("cloudwatch")
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
    put(cw, ("Failed", 3), ("Processed", 60), ("Processed", 40))
    queries = [stat("failed", "Failed", "Sum", False), stat("processed", "Processed", "Sum", False),
               {"Id": "share", "Expression": "100 * failed / processed", "ReturnData": True}]
    assert read(cw, queries, since) == {"share": {}}, "not readable before its minute ends and the lag passes"
    put_at = time.time()
    got = sim.wait(lambda: read(cw, queries, since)["share"], timeout=10, what="the custom minute")
    assert list(got.values()) == [3.0]  # 100 * 3 / (60 + 40)
    assert time.time() - put_at >= 0.9, "at least the publication lag (60 simulated s) after the minute"
    # Period is in simulated seconds, as for ALB metrics: a multiple of 60.
    with pytest.raises(botocore.exceptions.ClientError):
        cw.get_metric_data(MetricDataQueries=[{**stat("x", "Failed", "Sum"), "MetricStat": {
            **stat("x", "Failed", "Sum")["MetricStat"], "Period": 30}}],
            StartTime=since, EndTime=datetime.datetime.now(datetime.timezone.utc))


def test_functions_are_refused_not_answered_wrongly(sim):
    cw = sim.client("cloudwatch")
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=60)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        read(cw, [stat("a", "Failed", "Sum", False), {"Id": "s", "Expression": "FILL(a, 0)"}], since)
    assert "not simulated" in str(e.value)
