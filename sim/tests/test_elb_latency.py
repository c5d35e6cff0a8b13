"""Response times as CloudWatch reports them for an ALB (issue 29, item 2): each minute's
TargetResponseTime is the distribution of the requests that minute served, so a small target
group's p99 is noisy from minute to minute, and percentile ranks (PR) count requests.

Sources: ALB's CloudWatch metrics (TargetResponseTime, "the most useful statistics are Average
and pNN.NN"); CloudWatch statistics definitions ("Percentile rank (PR) is the percentage of
values that meet a fixed threshold. PR(:300) returns the percentage of data points that have a
value of 300 or less"; the lower bound is exclusive, the upper inclusive).
"""
import datetime
import statistics
import time

from aws_sim import alb, server, sim  # noqa: F401 (fixtures)
from test_elb_metrics_alarms import health, metric


def series(cw, name, dims, stat, end):
    now = datetime.datetime.now(datetime.timezone.utc)
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {
        "Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dims}, "Period": 60, "Stat": stat}}],
        StartTime=now - datetime.timedelta(minutes=1), EndTime=end)["MetricDataResults"][0]
    return dict(zip(r["Timestamps"], r["Values"]))


def minutes_of(cw, dims, stat, end, full=None):
    """A minute statistic, in time order; with `full`, only the minutes whose requests were at
    least that many (the minute traffic began in, or one still growing, has fewer)."""
    values = series(cw, "TargetResponseTime", dims, stat, end)
    counts = series(cw, "RequestCount", dims, "Sum", end)
    return [v for t, v in sorted(values.items()) if full is None or counts.get(t, 0) >= full]


def test_a_small_groups_minute_p99_is_noisy_and_percentile_ranks_count_requests(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000, "traffic_seed": 7})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (big, small), _ = alb(sim, "lblat", ["big", "small"], weights=[99, 1])
    elb.register_targets(TargetGroupArn=big, Targets=[{"Id": "10.9.1.1"}])
    elb.register_targets(TargetGroupArn=small, Targets=[{"Id": "10.9.1.2"}])
    sim.wait(lambda: all(h["State"] == "healthy" for tg in (big, small) for h in health(sim, tg).values()))
    time.sleep(20)  # about 20 simulated minutes, published 1-3 s late
    lb_dim = {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}
    dims = {tg: [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, lb_dim] for tg in (big, small)}
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=5)
    # Whole minutes only: ~5,900 and ~60 requests (the minute traffic began in has fewer).
    full = {big: 5000, small: 40}
    p99 = {tg: minutes_of(cw, d, "p99", end, full[tg]) for tg, d in dims.items()}
    assert len(p99[big]) >= 8 and len(p99[small]) >= 8, p99
    # The default scenario's true p99 is 50 ms. ~5,900 requests a minute: each minute's p99 is
    # close to it. ~60 requests a minute: a minute's p99 is nearly its slowest request.
    spread = {tg: max(v) - min(v) for tg, v in p99.items()}
    assert all(0.044 < v < 0.057 for v in p99[big]), p99[big]
    assert spread[small] > 3 * spread[big], (spread, p99)
    assert statistics.pstdev(p99[small]) > 0.004, p99[small]
    # Percentile ranks count the requests at most the limit, per minute.
    pr = {tg: minutes_of(cw, d, "PR(:0.05)", end, full[tg]) for tg, d in dims.items()}
    assert all(98.3 < v < 99.7 for v in pr[big]), pr[big]
    assert all(0.0 <= v <= 100.0 for v in pr[small]) and len(set(round(v, 3) for v in pr[small])) > 1, pr[small]
    # A minute whose p99 is at most the limit has at least 99% of its requests at most it.
    for p, r in zip(p99[small], pr[small]):
        assert (p <= 0.05) == (r >= 99.0) or abs(p - 0.05) < 1e-9, (p, r)
    # Bounds: (lo, hi] as documented; everything is at most an hour.
    assert all(abs(v - 100.0) < 1e-9 for v in minutes_of(cw, dims[big], "PR(:3600)", end))
    assert all(v == 0.0 for v in minutes_of(cw, dims[big], "PR(3600:)", end))
