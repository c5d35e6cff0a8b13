import datetime
import re
import time

from aws_sim import alb, completed, describe, register, service, server, sim  # noqa: F401 (fixtures)


def health(sim, tg):
    return {d["Target"]["Id"]: d["TargetHealth"] for d in sim.client("elbv2").describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}


def test_target_health_initial_then_healthy(sim):
    sim.call("PUT", "/_sim/scenarios", {":v1": {"health_seconds": 300}})  # 5 real seconds at scale 60
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    _, (tg,), _ = alb(sim, "lb1", ["tg1"])
    service(sim, "web", register(ecs, "repo/web:v1"), desired=1, target_group=tg)
    h = sim.wait(lambda: health(sim, tg), what="target registration")
    (ip, state), = h.items()
    assert ip.startswith("10.") and state == {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                                              "Description": "Target registration is in progress"}
    task = ecs.describe_tasks(cluster="c1", tasks=ecs.list_tasks(cluster="c1")["taskArns"])["tasks"][0]
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == ip
    assert describe(ecs, "web")["deployments"][0]["rolloutState"] == "IN_PROGRESS"  # waits for health
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    sim.wait(lambda: health(sim, tg)[ip]["State"] == "healthy", what="healthy")
    sim.wait(lambda: describe(ecs, "web")["deployments"][0]["rolloutState"] == "COMPLETED", what="completed")
    assert any(e["type"] == "target_healthy" and e["target"] == ip for e in sim.call("GET", "/_sim/events"))


def sick_image_behind_an_alb(sim):
    """Scale 300, `repo/web:sick` failing its health checks, cluster c1 and one target group."""
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    sim.call("PUT", "/_sim/scenarios", {"repo/web:sick": {"unhealthy": True}})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    _, (tg,), _ = alb(sim, "lb1", ["tg1"])
    return ecs, tg


def test_unhealthy_target_is_replaced(sim):
    ecs, tg = sick_image_behind_an_alb(sim)
    sim.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "600"}])
    service(sim, "web", register(ecs, "repo/web:sick"), desired=1, target_group=tg)
    unhealthy = sim.wait(lambda: [h for h in health(sim, tg).values() if h["State"] == "unhealthy"]
                         or [h for h in health(sim, tg).values() if h["State"] == "draining"], what="unhealthy/draining")
    assert unhealthy[0]["Reason"] in ("Target.FailedHealthChecks", "Target.DeregistrationInProgress")

    def stopped():
        arns = ecs.list_tasks(cluster="c1", desiredStatus="STOPPED")["taskArns"]
        return arns and ecs.describe_tasks(cluster="c1", tasks=arns)["tasks"]
    task = sim.wait(stopped, what="stopped task")[0]
    assert task["stoppedReason"] == f"Task failed ELB health checks in (target-group {tg})"
    sim.wait(lambda: describe(ecs, "web")["deployments"][0]["failedTasks"] >= 2, what="failed tasks counted")
    states = {h["State"] for h in health(sim, tg).values()}
    assert "draining" in states  # 600 s deregistration delay = 2 real seconds
    assert {"Reason": "Target.DeregistrationInProgress", "Description": "Target deregistration is in progress",
            "State": "draining"} in health(sim, tg).values()


def test_the_health_check_grace_period_keeps_an_unhealthy_task(sim):
    ecs, tg = sick_image_behind_an_alb(sim)
    service(sim, "web", register(ecs, "repo/web:v1"), desired=1, target_group=tg)
    sim.wait(lambda: completed(ecs, "web"), what="first deployment")
    ecs.update_service(cluster="c1", service="web", taskDefinition=register(ecs, "repo/web:sick"),
                       healthCheckGracePeriodSeconds=3600)
    assert describe(ecs, "web")["healthCheckGracePeriodSeconds"] == 3600
    sim.wait(lambda: [h for h in health(sim, tg).values() if h["State"] == "unhealthy"], what="unhealthy")
    time.sleep(1)  # 300 simulated seconds: without the grace period ECS would have replaced it at once
    assert "unhealthy" in {h["State"] for h in health(sim, tg).values()}
    assert describe(ecs, "web")["deployments"][0]["failedTasks"] == 0
    ecs.update_service(cluster="c1", service="web", healthCheckGracePeriodSeconds=0)
    sim.wait(lambda: describe(ecs, "web")["deployments"][0]["failedTasks"] >= 1, what="replaced after the grace period")


def metric(cw, name, dims, stat, minutes=5, period=60, unit=None, end=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    stat_spec = {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dims}, "Period": period, "Stat": stat}
    if unit:
        stat_spec["Unit"] = unit
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": stat_spec}],
                           StartTime=now - datetime.timedelta(minutes=minutes), EndTime=end or now + datetime.timedelta(minutes=1))
    return r["MetricDataResults"][0]["Values"]


def test_weighted_listener_splits_traffic_and_metrics(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (blue, green), listener = alb(sim, "lb1", ["blue", "green"], weights=[90, 10])
    elb.register_targets(TargetGroupArn=blue, Targets=[{"Id": "10.9.0.1"}, {"Id": "10.9.0.2"}])
    elb.register_targets(TargetGroupArn=green, Targets=[{"Id": "10.9.0.3"}])
    sim.wait(lambda: all(h["State"] == "healthy" for tg in (blue, green) for h in health(sim, tg).values()))
    time.sleep(9)  # minutes are published 1-3 s late and may grow once within 4 s: let several become final
    lb_dim = {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}
    dims = {tg: [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, lb_dim] for tg in (blue, green)}
    assert lb_dim["Value"].startswith("app/lb1/") and dims[blue][0]["Value"].startswith("targetgroup/blue/")
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=5)  # final minutes only
    counts = {tg: sum(metric(cw, "RequestCount", d, "Sum", end=end)) for tg, d in dims.items()}
    assert counts[blue] > 1000 and 0.87 < counts[blue] / (counts[blue] + counts[green]) < 0.93, counts
    total = sum(metric(cw, "RequestCount", [lb_dim], "Sum", end=end))  # per-LB datapoints, not summed with per-TG ones
    no_target = sum(metric(cw, "HTTPCode_ELB_5XX_Count", [lb_dim], "Sum", end=end))  # before any target was healthy
    assert abs(total - sum(counts.values()) - no_target) <= 3  # whole requests are rounded per series
    # dimension order does not matter; Average of RequestCount is 1 as in AWS
    assert metric(cw, "RequestCount", list(reversed(dims[green])), "Average", unit="Count")[0] == 1.0
    p99 = metric(cw, "TargetResponseTime", dims[blue], "p99")
    avg = metric(cw, "TargetResponseTime", dims[blue], "Average")
    assert 0.045 < p99[0] < 0.055 and 0.018 < avg[0] < 0.022, (p99, avg)
    assert metric(cw, "HTTPCode_Target_5XX_Count", dims[blue], "Sum") == []  # only emitted when > 0
    now = datetime.datetime.now(datetime.timezone.utc)
    stats = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="TargetResponseTime", Dimensions=dims[green],
                                     StartTime=now - datetime.timedelta(minutes=5), EndTime=now, Period=300,
                                     Statistics=["Average", "Maximum", "SampleCount"], ExtendedStatistics=["p99"])["Datapoints"]
    assert stats and all(0.045 < s["ExtendedStatistics"]["p99"] < 0.055 and s["Maximum"] > 0.05 for s in stats)  # 300 s periods: one or two have data

    since = time.time()
    elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue, "Weight": 0}, {"TargetGroupArn": green, "Weight": 100}]}}])
    changed = [e for e in sim.call("GET", f"/_sim/events?since={since}") if e["type"] == "weights_changed"]
    assert changed and changed[0]["weights"] == {blue: 0.0, green: 100.0}
    time.sleep(1.5)
    recent = metric(cw, "RequestCount", dims[green], "Sum", minutes=1, period=60)
    assert recent[0] > 50  # ~100 per real second at 6000 rpm, all of it on green now


def test_alarm_flips_on_5xx(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 600})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (tg,), _ = alb(sim, "lb1", ["tg1"])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.0.1"}])
    dims = [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}]
    cw.put_metric_alarm(AlarmName="5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                        Dimensions=dims, Statistic="Sum", Period=60, EvaluationPeriods=2, DatapointsToAlarm=1,
                        Threshold=50, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    alarm = lambda: cw.describe_alarms(AlarmNames=["5xx"])["MetricAlarms"][0]  # noqa: E731
    sim.wait(lambda: alarm()["StateValue"] == "OK", what="OK")
    first = next(e for e in sim.call("GET", "/_sim/events") if e["type"] == "alarm_state")
    assert (first["previous"], first["state"]) == ("INSUFFICIENT_DATA", "OK")  # alarms start INSUFFICIENT_DATA
    cw.set_alarm_state(AlarmName="5xx", StateValue="ALARM", StateReason="manual")
    assert alarm()["StateValue"] == "ALARM"
    sim.wait(lambda: alarm()["StateValue"] == "OK", what="data overrides SetAlarmState")
    since = time.time()
    # targets registered through the API use their id as "image"; scenarios apply live
    sim.call("PUT", "/_sim/scenarios", {"10.9.0.1": {"error_rate": 0.2}})  # 120 errors per simulated minute
    a = sim.wait(lambda: (a := alarm())["StateValue"] == "ALARM" and a, what="ALARM")
    # One breaching minute is enough (DatapointsToAlarm 1); on a loaded machine the evaluation
    # may come after a second one was published, so either count is AWS's wording.
    assert re.match(r"Threshold Crossed: [12] out of the last 2 datapoints \[", a["StateReason"]), a["StateReason"]
    # AWS says "was" for one datapoint and "were" for two.
    assert re.search(r"(was|were) greater than the threshold \(50\.0\)", a["StateReason"]), a["StateReason"]
    flips = [e for e in sim.call("GET", f"/_sim/events?since={since}") if e["type"] == "alarm_state"]
    assert flips[-1]["state"] == "ALARM" and flips[-1]["at"] - since < 5
    # The first minute with errors may have had them for part of it only (the alarm fires on
    # it); the next whole one carries the full rate: 2 errors per simulated second = 120.
    values = sim.wait(lambda: (v := metric(cw, "HTTPCode_Target_5XX_Count", dims, "Sum", minutes=2, period=60))
                      and max(v) > 60 and v, what="a whole minute of errors")
    assert max(values) < 180


def test_connection_errors_are_the_albs_502s_counted_in_the_groups_requests(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    sim.call("PUT", "/_sim/scenarios", {"10.9.1.3": {"connection_error_rate": 0.5}, "10.9.1.4": {"unhealthy": True}})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (blue, green), _ = alb(sim, "lb-refuse", ["blue-r", "green-r"], weights=[50, 50])
    elb.register_targets(TargetGroupArn=blue, Targets=[{"Id": "10.9.1.1"}, {"Id": "10.9.1.4"}])
    elb.register_targets(TargetGroupArn=green, Targets=[{"Id": "10.9.1.3"}])
    sim.wait(lambda: all(h["State"] != "initial" for tg in (blue, green) for h in health(sim, tg).values()))
    time.sleep(9)
    lb_dim = {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}
    dims = {tg: [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, lb_dim] for tg in (blue, green)}
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=5)
    requests = sum(metric(cw, "RequestCount", dims[green], "Sum", end=end))
    refused = sum(metric(cw, "TargetConnectionErrorCount", dims[green], "Sum", end=end))
    assert requests > 1000 and 0.45 < refused / requests < 0.55, (requests, refused)
    assert metric(cw, "HTTPCode_Target_5XX_Count", dims[green], "Sum", end=end) == []  # no target answered 5xx
    elb_502 = sum(metric(cw, "HTTPCode_ELB_502_Count", [lb_dim], "Sum", end=end))
    assert abs(elb_502 - refused) <= 3 and sum(metric(cw, "HTTPCode_ELB_5XX_Count", [lb_dim], "Sum", end=end)) >= elb_502
    # Host counts per group, every minute (newest first): blue has one unhealthy target, green none.
    assert set(metric(cw, "UnHealthyHostCount", dims[blue], "Maximum", end=end)[:3]) == {1.0}
    assert set(metric(cw, "UnHealthyHostCount", dims[green], "Maximum", end=end)) == {0.0}
    assert set(metric(cw, "HealthyHostCount", dims[green], "Minimum", end=end)[:3]) == {1.0}


def test_a_listener_rule_carries_its_share_split_by_its_own_weights(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    elb, cw = sim.client("elbv2"), sim.client("cloudwatch")
    lb, (blue, green, other), listener = alb(sim, "lb-rule", ["blue-x", "green-x", "other-x"], weights=[0, 0, 1])
    forward = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue, "Weight": 80}, {"TargetGroupArn": green, "Weight": 20}]}}]
    rule = elb.create_rule(ListenerArn=listener, Priority=10, Actions=forward, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}])["Rules"][0]["RuleArn"]
    sim.call("PUT", "/_sim/config", {"rule_shares": {rule: 0.6}})
    for tg, ip in ((blue, "10.9.2.1"), (green, "10.9.2.2"), (other, "10.9.2.3")):
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip}])
    sim.wait(lambda: all(h["State"] == "healthy" for tg in (blue, green, other) for h in health(sim, tg).values()))
    time.sleep(9)
    lb_dim = {"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=5)
    count = {tg: sum(metric(cw, "RequestCount", [{"Name": "TargetGroup", "Value": tg.split(":")[-1]}, lb_dim],
                            "Sum", end=end)) for tg in (blue, green, other)}
    total = sum(count.values())
    assert total > 1000, count
    # 60% through the rule (80/20), 40% through the default action.
    assert 0.10 < count[green] / total < 0.14 and 0.37 < count[other] / total < 0.43, count
    since = time.time()
    elb.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]}}])
    changed = [e for e in sim.call("GET", f"/_sim/events?since={since}") if e["type"] == "weights_changed"]
    assert changed and changed[0]["listener"] == rule and changed[0]["weights"] == {blue: 100.0, green: 0.0}
