"""ECS-native BLUE_GREEN / CANARY / LINEAR service deployments (sim/aws/ecs_native.py)."""
import time

import pytest
from botocore.exceptions import ClientError

from aws_sim import alb, completed, describe, network, register, server, sim  # noqa: F401 (fixtures)

ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"


def native_service(sim, name, strategy, extra=None, desired=2, test_rule=True):
    """Service `name` on v1 behind a production rule (blue 100 / green 0) and a test rule."""
    ecs, elb = sim.client("ecs"), sim.client("elbv2")
    ecs.create_cluster(clusterName="c1")
    _, subnets, sg = network(sim)
    lb, (blue, green), listener = alb(sim, f"lb-{name}", [f"b-{name}", f"g-{name}"], [100, 0])

    def rule(priority, path):
        return elb.create_rule(ListenerArn=listener, Priority=priority,
                               Conditions=[{"Field": "path-pattern", "Values": [path]}],
                               Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                                   {"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]}}]
                               )["Rules"][0]["RuleArn"]

    prod, test = rule(10, "/*"), rule(5, "/test/*")
    v1 = register(ecs, f"repo/{name}:v1", family=name)
    adv = {"alternateTargetGroupArn": green, "productionListenerRule": prod, "roleArn": ROLE}
    if test_rule:
        adv["testListenerRule"] = test
    config = {"strategy": strategy, "bakeTimeInMinutes": 1, **(extra or {})}
    ecs.create_service(cluster="c1", serviceName=name, taskDefinition=v1, desiredCount=desired, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
                       loadBalancers=[{"targetGroupArn": blue, "containerName": "app", "containerPort": 8080,
                                       "advancedConfiguration": adv}],
                       deploymentConfiguration=config)
    sim.wait(lambda: completed(ecs, name), what="first deployment")
    return ecs, elb, {"blue": blue, "green": green, "prod": prod, "test": test}


def rule_weights(elb, arn, r):
    groups = elb.describe_rules(RuleArns=[arn])["Rules"][0]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    by = {g["TargetGroupArn"]: g["Weight"] for g in groups}
    return by[r["blue"]], by[r["green"]]


def service_deployment(sim, ecs, name):
    arn = describe(ecs, name)["serviceArn"]
    briefs = sim.wait(lambda: ecs.list_service_deployments(cluster="c1", service=name)["serviceDeployments"],
                      what="the service deployment to be listed")
    assert briefs[0]["serviceArn"] == arn
    return briefs[0]["serviceDeploymentArn"]


def sd_of(ecs, arn):
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def test_blue_green_walks_the_lifecycle_and_swaps_target_groups(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    ecs, elb, r = native_service(sim, "bg", "BLUE_GREEN")
    v2 = register(ecs, "repo/bg:v2", family="bg")
    ecs.update_service(cluster="c1", service="bg", taskDefinition=v2)
    arn = service_deployment(sim, ecs, "bg")
    sd = sd_of(ecs, arn)
    target = sd["targetServiceRevision"]["arn"]
    rev = ecs.describe_service_revisions(serviceRevisionArns=[target])["serviceRevisions"][0]
    assert rev["taskDefinition"] == v2
    sim.wait(lambda: sd_of(ecs, arn)["status"] == "SUCCESSFUL", timeout=30, what="the deployment to succeed")
    stages = [e["stage"] for e in sim.call("GET", "/_sim/events") if e["type"] == "service_deployment_stage" and e["arn"] == arn]
    assert stages == ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                      "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
    assert rule_weights(elb, r["prod"], r) == (0, 100) and rule_weights(elb, r["test"], r) == (0, 100)
    s = describe(ecs, "bg")
    assert s["taskDefinition"] == v2 and len(s["deployments"]) == 1
    # The next deployment goes back to the first target group.
    v3 = register(ecs, "repo/bg:v3", family="bg")
    ecs.update_service(cluster="c1", service="bg", taskDefinition=v3)
    arn3 = sim.wait(lambda: (b := ecs.list_service_deployments(cluster="c1", service="bg", status=["IN_PROGRESS", "PENDING"])
                             ["serviceDeployments"]) and b[0]["serviceDeploymentArn"], what="the third deployment")
    sim.wait(lambda: sd_of(ecs, arn3)["status"] == "SUCCESSFUL", timeout=30, what="v3")
    assert rule_weights(elb, r["prod"], r) == (100, 0)


def test_canary_holds_its_percent_then_stop_rolls_back(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, elb, r = native_service(sim, "cn", "CANARY",
                                 {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10}})
    v2 = register(ecs, "repo/cn:v2", family="cn")
    ecs.update_service(cluster="c1", service="cn", taskDefinition=v2)
    arn = service_deployment(sim, ecs, "cn")
    sim.wait(lambda: rule_weights(elb, r["prod"], r) == (90, 10), timeout=20, what="the canary weight")
    sd = sd_of(ecs, arn)
    assert sd["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    # The requested weight is a snapshot: it catches up with the rule a minute later.
    assert sd["targetServiceRevision"]["requestedProductionTrafficWeight"] in (0.0, 10.0)
    sim.wait(lambda: sd_of(ecs, arn)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0,
             what="the snapshot to catch up")
    # A second UpdateService is refused while this one runs.
    with pytest.raises(ClientError) as e:
        ecs.update_service(cluster="c1", service="cn", taskDefinition=register(ecs, "repo/cn:v3", family="cn"))
    assert "in progress" in str(e.value)
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    sd = sim.wait(lambda: (s := sd_of(ecs, arn))["status"] == "ROLLBACK_SUCCESSFUL" and s, timeout=20, what="rollback")
    assert sd["rollback"]["serviceRevisionArn"] == sd["sourceServiceRevisions"][0]["arn"]
    assert rule_weights(elb, r["prod"], r) == (100, 0)
    s = describe(ecs, "cn")
    assert s["taskDefinition"] != v2 and [d["status"] for d in s["deployments"]] == ["PRIMARY"]
    with pytest.raises(ClientError):
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")


def test_a_pause_hook_holds_until_continued(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    hooks = [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
              "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}]
    ecs, elb, r = native_service(sim, "hk", "LINEAR", {"lifecycleHooks": hooks,
                                                       "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}})
    ecs.update_service(cluster="c1", service="hk", taskDefinition=register(ecs, "repo/hk:v2", family="hk"))
    arn = service_deployment(sim, ecs, "hk")
    sd = sim.wait(lambda: (s := sd_of(ecs, arn)).get("lifecycleHookDetails") and s, timeout=20, what="the hook")
    hook = sd["lifecycleHookDetails"][0]
    assert hook["status"] == "AWAITING_ACTION" and hook["targetType"] == "PAUSE" and hook["timeoutAction"] == "ROLLBACK"
    assert rule_weights(elb, r["test"], r) == (0, 100) and rule_weights(elb, r["prod"], r) == (100, 0)
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    sim.wait(lambda: sd_of(ecs, arn)["status"] == "SUCCESSFUL", timeout=30, what="success")
    steps = [e["weights"][r["green"]] for e in sim.call("GET", "/_sim/events")
             if e["type"] == "weights_changed" and e["listener"] == r["prod"]]
    assert steps == [50.0, 100.0], steps  # the linear steps, in order, after the hook


def test_a_pre_production_hook_holds_before_every_linear_step(sim):
    """API Reference, DeploymentLifecycleHook.lifecycleStages: PRE_PRODUCTION_TRAFFIC_SHIFT "For
    linear and canary deployments, this stage is invoked before every traffic shift step"."""
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    hooks = [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
              "timeoutConfiguration": {"timeoutInMinutes": 600, "action": "ROLLBACK"}}]
    ecs, elb, r = native_service(sim, "pp", "LINEAR", {"lifecycleHooks": hooks,
                                                       "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}})
    ecs.update_service(cluster="c1", service="pp", taskDefinition=register(ecs, "repo/pp:v2", family="pp"))
    arn = service_deployment(sim, ecs, "pp")
    seen = []
    for weight in (0, 50):
        hook = sim.wait(lambda: next((h for h in sd_of(ecs, arn).get("lifecycleHookDetails", [])
                                      if h["status"] == "AWAITING_ACTION"), None), timeout=30, what=f"the hook at {weight}%")
        assert hook["hookId"] not in seen, "each step is a new invocation"
        seen.append(hook["hookId"])
        time.sleep(1.0)  # held: 10 simulated minutes, far past the step's bake
        assert rule_weights(elb, r["prod"], r) == (100 - weight, weight), "no step while the hook holds"
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    sim.wait(lambda: sd_of(ecs, arn)["status"] == "SUCCESSFUL", timeout=30, what="success")
    assert len(seen) == 2


def test_pause_hooks_cannot_hold_a_traffic_shift_stage(sim):
    """API Reference: "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
    PRODUCTION_TRAFFIC_SHIFT stages. These stages are only valid for AWS_LAMBDA hooks." """
    for stage in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"):
        with pytest.raises(ClientError) as e:
            native_service(sim, f"ps{stage[0].lower()}", "BLUE_GREEN", {
                "bakeTimeInMinutes": 1, "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": [stage]}]})
        assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_deployment_alarm_rolls_back_without_anyone_watching(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    cw = sim.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="al-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1e9,
                        ComparisonOperator="GreaterThanThreshold")
    ecs, elb, r = native_service(sim, "al", "BLUE_GREEN", {
        "bakeTimeInMinutes": 30, "alarms": {"alarmNames": ["al-5xx"], "enable": True, "rollback": True}})
    ecs.update_service(cluster="c1", service="al", taskDefinition=register(ecs, "repo/al:v2", family="al"))
    arn = service_deployment(sim, ecs, "al")
    sim.wait(lambda: sd_of(ecs, arn)["lifecycleStage"] == "BAKE_TIME", timeout=30, what="the bake")
    cw.set_alarm_state(AlarmName="al-5xx", StateValue="ALARM", StateReason="test")
    sd = sim.wait(lambda: (s := sd_of(ecs, arn))["status"] == "ROLLBACK_SUCCESSFUL" and s, timeout=20, what="rollback")
    assert "al-5xx" in sd["rollback"]["reason"] and rule_weights(elb, r["prod"], r) == (100, 0)


def test_native_strategies_are_validated(sim):
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    v1 = register(ecs, "repo/v:v1", family="v")
    with pytest.raises(ClientError) as e:
        ecs.create_service(cluster="c1", serviceName="v", taskDefinition=v1, desiredCount=1,
                           deploymentConfiguration={"strategy": "CANARY"})
    assert "load balancer" in str(e.value)
    assert ecs.list_services(cluster="c1")["serviceArns"] == []


def test_the_requested_weight_is_a_snapshot_that_lags_the_rule(sim):
    """API Reference, ServiceRevisionSummary.requestedProductionTrafficWeight: "a snapshot …
    may not reflect real-time changes". The simulator's catches up a simulated minute late."""
    sim.call("PUT", "/_sim/config", {"time_scale": 60})
    ecs, elb, r = native_service(sim, "snap", "CANARY",
                                 {"canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 10}})
    ecs.update_service(cluster="c1", service="snap", taskDefinition=register(ecs, "repo/snap:v2", family="snap"))
    arn = service_deployment(sim, ecs, "snap")
    sim.wait(lambda: rule_weights(elb, r["prod"], r) == (80, 20), timeout=60, what="the canary weight on the rule")
    seen_at = time.time()
    assert sd_of(ecs, arn)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    sim.wait(lambda: sd_of(ecs, arn)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 20.0,
             what="the snapshot to catch up")
    assert time.time() - seen_at > 0.5, "a simulated minute late (1 s at scale 60)"
