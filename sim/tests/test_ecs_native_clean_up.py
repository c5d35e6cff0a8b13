"""StopServiceDeployment while an ECS-native deployment is in CLEAN_UP (issue 29, item 9).

AWS does not document it. The simulator takes the less forgiving reading: the rollback moves
production back to the source revision's target group at once, whose tasks CLEAN_UP is already
stopping and draining, so the ALB answers 503 until ECS has started the source revision's tasks
again; only then is the rollback successful.
"""
import datetime

from aws_sim import completed, describe, register, server, sim  # noqa: F401 (fixtures)
from test_ecs_native import native_service, rule_weights, sd_of, service_deployment


def test_a_stop_in_clean_up_sends_production_to_a_draining_group_until_it_is_started_again(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "requests_per_minute": 6000})
    ecs, elb, r = native_service(sim, "cu", "BLUE_GREEN", {"bakeTimeInMinutes": 0})
    v1 = describe(ecs, "cu")["taskDefinition"]
    ecs.update_service(cluster="c1", service="cu", taskDefinition=register(ecs, "repo/cu:v2", family="cu"))
    arn = service_deployment(sim, ecs, "cu")
    sim.wait(lambda: sd_of(ecs, arn)["lifecycleStage"] == "CLEAN_UP", timeout=60, what="CLEAN_UP")
    sim.wait(lambda: ecs.list_tasks(cluster="c1", serviceName="cu", desiredStatus="STOPPED")["taskArns"],
             what="CLEAN_UP stopping the source revision's tasks")
    assert sd_of(ecs, arn)["status"] == "IN_PROGRESS"  # draining: 300 s of deregistration delay
    stopped_at = datetime.datetime.now(datetime.timezone.utc)
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert rule_weights(elb, r["prod"], r) == (100, 0) or sim.wait(
        lambda: rule_weights(elb, r["prod"], r) == (100, 0), what="production back on the source group")
    sd = sim.wait(lambda: (s := sd_of(ecs, arn))["status"] == "ROLLBACK_SUCCESSFUL" and s, timeout=60, what="rollback")
    service = describe(ecs, "cu")
    assert service["taskDefinition"] == v1 and service["runningCount"] == 2, service
    tasks = ecs.describe_tasks(cluster="c1", tasks=ecs.list_tasks(cluster="c1", serviceName="cu")["taskArns"])["tasks"]
    running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
    assert len(running) == 2 and all(t["taskDefinitionArn"] == v1 for t in running), running
    assert all(t["createdAt"] >= stopped_at - datetime.timedelta(seconds=1) for t in running), "started again"
    assert sd["rollback"]["serviceRevisionArn"] == sd["sourceServiceRevisions"][0]["arn"]
    cw = sim.client("cloudwatch")
    lb = elb.describe_load_balancers(Names=["lb-cu"])["LoadBalancers"][0]["LoadBalancerArn"]
    dims = [{"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[1]}]

    def no_target_503s():
        r = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {
            "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_ELB_503_Count", "Dimensions": dims},
            "Period": 60, "Stat": "Sum"}}], StartTime=stopped_at - datetime.timedelta(seconds=2),
            EndTime=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1))
        return sum(r["MetricDataResults"][0]["Values"])
    assert sim.wait(no_target_503s, timeout=20, what="the ALB's 503s while the source group had no target") > 0
