"""CloudWatch's clock for ALB metrics: minute buckets, publication lag, partial minutes,
StartTime rounding and Period validation, all time-scaled (60: a simulated minute is one
real second)."""
import datetime
import time

import botocore.exceptions
import pytest

from aws_sim import alb, server, sim  # noqa: F401 (fixtures)


def dims_of(lb, tg):
    return [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}]


def requests_by_minute(cw, dims, since, period=60):
    now = datetime.datetime.now(datetime.timezone.utc)
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "r", "MetricStat": {"Metric": {
        "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": dims}, "Period": period, "Stat": "Sum"}}],
        StartTime=since, EndTime=now + datetime.timedelta(seconds=5), ScanBy="TimestampAscending")["MetricDataResults"][0]
    return dict(zip(r["Timestamps"], r["Values"]))


def serving_target_group(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    lb, (tg,), _ = alb(sim, "lb1", ["tg1"])
    sim.client("elbv2").register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.0.1"}])
    return dims_of(lb, tg)


def test_a_minute_is_readable_only_after_its_publication_lag(sim):
    cw = sim.client("cloudwatch")
    dims = serving_target_group(sim)
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=10)
    # The first minute with traffic: when it ends, and when it can first be read.
    first = sim.wait(lambda: requests_by_minute(cw, dims, since), timeout=20, what="a published minute")
    stamp = min(first)
    ended = stamp.timestamp() + 1.0  # a simulated minute is one real second
    seen = time.time()
    assert seen - ended >= 0.9, "published no sooner than 60 simulated seconds after the minute ended"
    # Minutes keep coming, each one at least a minute late: the newest readable minute is
    # always 1-4 simulated minutes behind.
    time.sleep(3)
    newest = max(requests_by_minute(cw, dims, since))
    behind = time.time() - (newest.timestamp() + 1.0)
    assert 0.9 <= behind <= 5.0, behind


def test_the_newest_minute_may_grow_once(sim):
    cw = sim.client("cloudwatch")
    dims = serving_target_group(sim)
    since = datetime.datetime.now(datetime.timezone.utc)
    seen, grew = {}, set()
    deadline = time.time() + 12
    while time.time() < deadline:
        for t, v in requests_by_minute(cw, dims, since).items():
            if t in seen and v > seen[t]:
                grew.add(t)
            assert v >= seen.get(t, 0), "a minute never shrinks"
            seen[t] = v
        time.sleep(0.1)
    assert grew, "with half the minutes published partially first, some grew within 12 minutes"
    # Minutes old enough to be final (lag + growth are at most 4 real seconds): 6000 requests a
    # simulated minute, give or take a 50 ms tick (3 simulated seconds) that falls into one minute whole.
    final = [v for t, v in sorted(seen.items())[1:] if t.timestamp() < deadline - 6]
    assert final and all(5400 <= v <= 6600 for v in final), seen


def test_period_must_be_a_multiple_of_60_and_start_rounds_down(sim):
    cw = sim.client("cloudwatch")
    dims = serving_target_group(sim)
    since = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        requests_by_minute(cw, dims, since, period=30)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "multiple of 60" in e.value.response["Error"]["Message"]
    minutes = sim.wait(lambda: requests_by_minute(cw, dims, since), timeout=20, what="a published minute")
    stamp = min(minutes)
    # A StartTime 0.6 s (36 simulated seconds) into that minute still returns it: rounded down.
    again = requests_by_minute(cw, dims, stamp + datetime.timedelta(seconds=0.6))
    assert stamp in again, (stamp, again)
    stats = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="RequestCount", Dimensions=dims,
                                     StartTime=stamp + datetime.timedelta(seconds=0.6), EndTime=stamp + datetime.timedelta(seconds=1),
                                     Period=60, Statistics=["Sum"])["Datapoints"]
    assert stats and stats[0]["Sum"] > 0
    with pytest.raises(botocore.exceptions.ClientError):
        cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="RequestCount", Dimensions=dims,
                                 StartTime=stamp, EndTime=stamp + datetime.timedelta(seconds=5), Period=90, Statistics=["Sum"])


def test_an_alarm_fires_only_once_the_errors_are_published(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 600})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (tg,), _ = alb(sim, "lb1", ["tg1"])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.0.1"}])
    cw.put_metric_alarm(AlarmName="5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                        Dimensions=dims_of(lb, tg), Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=50, ComparisonOperator="GreaterThanThreshold", TreatMissingData="missing")
    time.sleep(2)
    onset = time.time()
    sim.call("PUT", "/_sim/scenarios", {"10.9.0.1": {"error_rate": 0.5}})  # 300 errors a simulated minute
    alarm = lambda: cw.describe_alarms(AlarmNames=["5xx"])["MetricAlarms"][0]  # noqa: E731
    sim.wait(lambda: alarm()["StateValue"] == "ALARM", timeout=20, what="ALARM")
    fired = [e for e in sim.call("GET", f"/_sim/events?since={onset}") if e["type"] == "alarm_state" and e["state"] == "ALARM"][0]
    # The bad minute must end (up to 1 s) and be published (1-3 s more): never within a second.
    assert fired["at"] - onset >= 1.0, fired["at"] - onset


def test_which_requests_fail_is_drawn_not_averaged():
    """A 1% error rate over 100-request minutes is a binomial count: its spread is that of
    Binomial(100, 0.01), not zero, and the same seed draws the same counts."""
    import random

    from sim.aws.metrics import binomial
    draws = [binomial(random.Random(7 + i), 100, 0.01) for i in range(2000)]
    mean = sum(draws) / len(draws)
    var = sum((d - mean) ** 2 for d in draws) / len(draws)
    assert 0.9 < mean < 1.1 and 0.85 < var < 1.15, (mean, var)
    assert draws.count(0) > 200  # P(0) = 0.366
    assert binomial(random.Random(1), 100, 0.01) == binomial(random.Random(1), 100, 0.01)
    big = [binomial(random.Random(i), 100_000, 0.02) for i in range(300)]
    assert 1900 < sum(big) / len(big) < 2100 and max(big) != min(big)
    assert binomial(random.Random(1), 50, 0.0) == 0 and binomial(random.Random(1), 50, 1.0) == 50
