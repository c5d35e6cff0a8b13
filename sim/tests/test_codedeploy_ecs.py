"""CodeDeploy blue/green deployments of ECS services (sim/aws/codedeploy_ecs.py)."""
import json

import pytest
from botocore.exceptions import ClientError

from aws_sim import alb, describe, network, register, server, sim  # noqa: F401 (fixtures)

ROLE = "arn:aws:iam::123456789012:role/codedeploy"


def setup(sim, name, config="CodeDeployDefault.ECSCanary10Percent5Minutes", wait=0, alarms=None):
    ecs, elb, cd = sim.client("ecs"), sim.client("elbv2"), sim.client("codedeploy")
    ecs.create_cluster(clusterName="c1")
    _, subnets, sg = network(sim)
    lb, (blue, green), prod = alb(sim, f"lb-{name}", [f"b-{name}", f"g-{name}"], [100, 0])
    test = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080, DefaultActions=[{
        "Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 100},
                                                              {"TargetGroupArn": green, "Weight": 0}]}}])["Listeners"][0]["ListenerArn"]
    v1 = register(ecs, f"repo/{name}:v1", family=name)
    ecs.create_service(cluster="c1", serviceName=name, taskDefinition=v1, desiredCount=2, launchType="FARGATE",
                       deploymentController={"type": "CODE_DEPLOY"},
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
                       loadBalancers=[{"targetGroupArn": blue, "containerName": "app", "containerPort": 8080}])
    cd.create_application(applicationName=name, computePlatform="ECS")
    group = {"applicationName": name, "deploymentGroupName": f"{name}-dg", "serviceRoleArn": ROLE,
             "deploymentConfigName": config,
             "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
             "blueGreenDeploymentConfiguration": {
                 "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": wait},
                 "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}},
             "ecsServices": [{"serviceName": name, "clusterName": "c1"}],
             "loadBalancerInfo": {"targetGroupPairInfoList": [{
                 "targetGroups": [{"name": f"b-{name}"}, {"name": f"g-{name}"}],
                 "prodTrafficRoute": {"listenerArns": [prod]}, "testTrafficRoute": {"listenerArns": [test]}}]},
             "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}}
    if alarms:
        group["alarmConfiguration"] = {"enabled": True, "alarms": [{"name": a} for a in alarms]}
    cd.create_deployment_group(**group)
    sim.wait(lambda: describe(ecs, name)["runningCount"] == 2, what="the original task set")
    return ecs, elb, cd, {"blue": blue, "green": green, "prod": prod, "test": test}


def appspec(td, container="app"):
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps({
        "version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": td, "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": 8080}}}}]})}}


def weights(elb, listener, r):
    groups = elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    by = {g["TargetGroupArn"]: g["Weight"] for g in groups}
    return by[r["blue"]], by[r["green"]]


def test_a_canary_deployment_shifts_the_listeners_and_terminates_the_original(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 120})  # the 5-minute canary lasts 2.5 s
    ecs, elb, cd, r = setup(sim, "cd1")
    v2 = register(ecs, "repo/cd1:v2", family="cd1")
    with pytest.raises(ClientError) as e:
        ecs.update_service(cluster="c1", service="cd1", taskDefinition=v2)
    assert "Use AWS CodeDeploy" in str(e.value)
    dep = cd.create_deployment(applicationName="cd1", deploymentGroupName="cd1-dg", revision=appspec(v2))["deploymentId"]
    sim.wait(lambda: weights(elb, r["prod"], r) == (90, 10), timeout=20, what="the canary")
    assert weights(elb, r["test"], r) == (0, 100)
    target = cd.batch_get_deployment_targets(deploymentId=dep, targetIds=["c1:cd1"])["deploymentTargets"][0]["ecsTarget"]
    events = {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}
    assert events["Install"] == "Succeeded" and events["AllowTraffic"] == "InProgress"
    assert {t["taskSetLabel"]: t["trafficWeight"] for t in target["taskSetsInfo"]} == {"Blue": 90.0, "Green": 10.0}
    sim.wait(lambda: cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] == "Succeeded", timeout=30, what="success")
    assert weights(elb, r["prod"], r) == (0, 100)
    s = describe(ecs, "cd1")
    assert s["taskDefinition"] == v2 and s["runningCount"] == 2


def test_stop_with_rollback_puts_traffic_back(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, elb, cd, r = setup(sim, "cd2")
    v1 = describe(ecs, "cd2")["taskDefinition"]
    dep = cd.create_deployment(applicationName="cd2", deploymentGroupName="cd2-dg",
                               revision=appspec(register(ecs, "repo/cd2:v2", family="cd2")))["deploymentId"]
    sim.wait(lambda: weights(elb, r["prod"], r) == (90, 10), timeout=20, what="the canary")
    with pytest.raises(ClientError):  # one active deployment per group
        cd.create_deployment(applicationName="cd2", deploymentGroupName="cd2-dg", revision=appspec(v1))
    cd.stop_deployment(deploymentId=dep, autoRollbackEnabled=True)
    info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    assert weights(elb, r["prod"], r) == (100, 0)
    sim.wait(lambda: cd.get_deployment(deploymentId=rollback)["deploymentInfo"]["status"] == "Succeeded", timeout=20,
             what="the rollback deployment")
    assert cd.get_deployment(deploymentId=rollback)["deploymentInfo"]["creator"] == "codeDeployRollback"
    assert describe(ecs, "cd2")["taskDefinition"] == v1


def test_a_group_alarm_stops_and_rolls_back(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    cw = sim.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="cd3-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1e9, ComparisonOperator="GreaterThanThreshold")
    ecs, elb, cd, r = setup(sim, "cd3", config="CodeDeployDefault.ECSAllAtOnce", wait=30, alarms=["cd3-5xx"])
    dep = cd.create_deployment(applicationName="cd3", deploymentGroupName="cd3-dg",
                               revision=appspec(register(ecs, "repo/cd3:v2", family="cd3")))["deploymentId"]
    sim.wait(lambda: cd.get_deployment(deploymentId=dep)["deploymentInfo"]["instanceTerminationWaitTimeStarted"],
             timeout=30, what="the termination wait")
    cw.set_alarm_state(AlarmName="cd3-5xx", StateValue="ALARM", StateReason="test")
    info = sim.wait(lambda: (i := cd.get_deployment(deploymentId=dep)["deploymentInfo"])["status"] == "Stopped" and i,
                    timeout=20, what="the alarm stop")
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE" and "cd3-5xx" in info["errorInformation"]["message"]
    assert weights(elb, r["prod"], r) == (100, 0)


def test_bad_deployments_are_refused(sim):
    ecs, elb, cd, r = setup(sim, "cd4")
    v2 = register(ecs, "repo/cd4:v2", family="cd4")
    for kwargs, code in [({"deploymentGroupName": "nope"}, "DeploymentGroupDoesNotExistException"),
                         ({"deploymentConfigName": "Custom"}, "DeploymentConfigDoesNotExistException"),
                         ({"revision": appspec(v2, container="web")}, "InvalidRevisionException")]:
        args = {"applicationName": "cd4", "deploymentGroupName": "cd4-dg", "revision": appspec(v2), **kwargs}
        with pytest.raises(ClientError) as e:
            cd.create_deployment(**args)
        assert e.value.response["Error"]["Code"] == code, e.value
