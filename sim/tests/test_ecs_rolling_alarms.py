"""Deployment alarms on rolling deployments ("How CloudWatch alarms detect Amazon ECS deployment
failures", Amazon ECS Developer Guide): an alarm in ALARM fails the deployment and, with
rollback, puts the service back on the last completed deployment; a quiet alarm holds the
rollout IN_PROGRESS through a bake after the old tasks are gone (sim/aws/ecs_rolling_alarms.py)."""
import time

from aws_sim import completed, describe, register, server, sim  # noqa: F401 (fixtures)
from aws_sim import network

SCALE = 300


def alarmed_service(sim, name, rollback, period=60, evaluation_periods=2):
    sim.call("PUT", "/_sim/config", {"time_scale": SCALE})
    ecs, cw = sim.client("ecs"), sim.client("cloudwatch")
    ecs.create_cluster(clusterName="c1")
    cw.put_metric_alarm(AlarmName=f"{name}-errors", Namespace="Shop", MetricName="Errors", Statistic="Sum",
                        Period=period, EvaluationPeriods=evaluation_periods, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    v1, v2 = register(ecs, "repo/web:v1"), register(ecs, "repo/web:v2")
    _, subnets, sg = network(sim)
    ecs.create_service(cluster="c1", serviceName=name, taskDefinition=v1, desiredCount=2, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
                       deploymentConfiguration={
                           "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                           "alarms": {"alarmNames": [f"{name}-errors"], "enable": True, "rollback": rollback}})
    sim.wait(lambda: completed(ecs, name), timeout=30, what="first deployment")
    return ecs, cw, v1, v2


def service_deployment(ecs, name):
    arns = ecs.list_service_deployments(cluster="c1", service=name)["serviceDeployments"]
    newest = max(arns, key=lambda d: d["createdAt"])["serviceDeploymentArn"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[newest])["serviceDeployments"][0]


def test_an_alarm_in_alarm_fails_the_rolling_deployment_and_rolls_it_back(sim):
    ecs, cw, v1, v2 = alarmed_service(sim, "web", rollback=True)
    ecs.update_service(cluster="c1", service="web", taskDefinition=v2)
    failed_id = describe(ecs, "web")["deployments"][0]["id"]
    cw.set_alarm_state(AlarmName="web-errors", StateValue="ALARM", StateReason="test")
    s = sim.wait(lambda: (s := completed(ecs, "web")) and s["taskDefinition"] == v1 and s, timeout=30,
                 what="the alarm's rollback")
    assert s["deployments"][0]["id"] != failed_id
    messages = [e["message"] for e in s["events"]]
    assert f"(service web) (deployment {failed_id}) deployment failed: alarm web-errors detected." in messages
    sd = sim.wait(lambda: (sd := service_deployment(ecs, "web"))["status"] == "ROLLBACK_SUCCESSFUL" and sd,
                  timeout=30, what="the service deployment's rollback")
    assert sd["alarms"]["status"] == "TRIGGERED" and sd["alarms"]["triggeredAlarmNames"] == ["web-errors"]
    assert sd["deploymentCircuitBreaker"]["status"] == "MONITORING_COMPLETE"
    assert "web-errors" in sd["rollback"]["reason"]


def test_without_rollback_the_deployment_fails_and_starts_nothing_more(sim):
    ecs, cw, v1, v2 = alarmed_service(sim, "api", rollback=False)
    ecs.update_service(cluster="c1", service="api", taskDefinition=v2)
    cw.set_alarm_state(AlarmName="api-errors", StateValue="ALARM", StateReason="test")
    d = sim.wait(lambda: (d := describe(ecs, "api")["deployments"][0])["rolloutState"] == "FAILED" and d,
                 timeout=30, what="FAILED")
    assert d["taskDefinition"] == v2 and d["rolloutStateReason"] == "ECS deployment failed: alarm api-errors is in ALARM state."
    assert describe(ecs, "api")["taskDefinition"] == v2, "no rollback"


def test_a_quiet_alarm_holds_the_rollout_in_progress_through_its_bake(sim):
    ecs, cw, v1, v2 = alarmed_service(sim, "bake", rollback=True, period=60, evaluation_periods=3)
    ecs.update_service(cluster="c1", service="bake", taskDefinition=v2)
    steady_at = None
    while True:
        s = describe(ecs, "bake")
        d = s["deployments"][0]
        if d["rolloutState"] == "COMPLETED":
            break
        if steady_at is None and len(s["deployments"]) == 1 and d["runningCount"] == 2:
            steady_at = time.time()  # the old deployment is gone; the bake runs
        time.sleep(0.02)
    assert steady_at is not None, "the rollout completed without a bake"
    baked = (time.time() - steady_at) * SCALE
    assert baked >= 180 * 0.9, f"baked {baked:.0f} s of simulated time, not 3 x 60 s"
