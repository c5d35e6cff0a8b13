"""Target-group stickiness: a client stays with its group for the cookie's duration."""
import datetime
import time
import types

from sim.aws import routing
from sim.aws.core import sim as state

from aws_sim import alb, server, sim  # noqa: F401 (fixtures)


def test_a_group_keeps_the_average_of_its_weight_over_the_cookies_duration():
    lb = types.SimpleNamespace()
    state.now = 1000.0
    assert routing._sticky(lb, "l", {"blue": 100, "green": 0}, 600) == {"blue": 1.0, "green": 0.0}  # shares
    state.now = 2000.0
    shares = routing._sticky(lb, "l", {"blue": 0, "green": 100}, 600)  # the switch happens now
    assert shares == {"blue": 1.0, "green": 0.0}
    state.now = 2150.0
    shares = routing._sticky(lb, "l", {"blue": 0, "green": 100}, 600)
    assert abs(shares["blue"] - 0.75) < 1e-9 and abs(shares["green"] - 0.25) < 1e-9
    state.now = 2600.0
    assert routing._sticky(lb, "l", {"blue": 0, "green": 100}, 600)["blue"] == 0.0
    # Stickiness off: the weights, at once.
    state.now = 2700.0
    routing._sticky(lb, "l", {"blue": 100, "green": 0}, 600)
    state.now = 2710.0
    assert routing._sticky(lb, "l", {"blue": 100, "green": 0}, None) == {"blue": 100, "green": 0}


def test_pinned_clients_reach_a_group_with_no_target_as_503s(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (blue, green), listener = alb(sim, "lb-sticky", ["blue-s", "green-s"], weights=[0, 100])
    sticky = {"Enabled": True, "DurationSeconds": 900}
    elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": blue, "Weight": 0}, {"TargetGroupArn": green, "Weight": 100}],
        "TargetGroupStickinessConfig": sticky}}])
    elb.register_targets(TargetGroupArn=blue, Targets=[{"Id": "10.9.3.1"}])
    time.sleep(3)  # clients pin to green, which has no target at all
    elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}],
        "TargetGroupStickinessConfig": sticky}}])
    time.sleep(8)
    lb_dim = {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}
    now = datetime.datetime.now(datetime.timezone.utc)
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "e", "MetricStat": {"Metric": {
        "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_ELB_503_Count", "Dimensions": [lb_dim]},
        "Period": 60, "Stat": "Sum"}}], StartTime=now - datetime.timedelta(seconds=6),
        EndTime=now - datetime.timedelta(seconds=3))
    assert sum(r["MetricDataResults"][0]["Values"]) > 100  # weights say blue; the cookies say green
