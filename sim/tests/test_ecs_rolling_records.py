"""Rolling deployments are service deployments too (sim/aws/ecs_rolling_records.py): listed,
described, and, after the circuit breaker's rollback, ROLLBACK_SUCCESSFUL with the breaker
TRIGGERED, which is what the action reads instead of event prose."""
from aws_sim import completed, describe, register, service, server, sim  # noqa: F401 (fixtures)
from test_ecs_rollouts import update_to_bad
from test_fixture_shapes import fixture, missing, wire


def records(ecs, name="web"):
    arns = [b["serviceDeploymentArn"] for b in ecs.list_service_deployments(cluster="c1", service=name)["serviceDeployments"]]
    return ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"] if arns else []


def revision_td(ecs, arn):
    return ecs.describe_service_revisions(serviceRevisionArns=[arn])["serviceRevisions"][0]["taskDefinition"]


def test_a_completed_rolling_deployment_is_successful_with_aws_example_shape(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    v1, v2 = register(ecs, "repo/web:v1"), register(ecs, "repo/web:v2")
    service(sim, "web", v1, desired=2, circuit_breaker={"enable": True, "rollback": True})
    sim.wait(lambda: completed(ecs, "web"), what="first deployment")
    ecs.update_service(cluster="c1", service="web", taskDefinition=v2)
    sim.wait(lambda: completed(ecs, "web"), what="update to complete")
    newest = sim.wait(lambda: (r := records(ecs)) and len(r) == 2 and r[0], what="both listed")
    assert newest["status"] == "SUCCESSFUL" and "finishedAt" in newest
    assert revision_td(ecs, newest["targetServiceRevision"]["arn"]) == v2
    assert revision_td(ecs, newest["sourceServiceRevisions"][0]["arn"]) == v1
    assert newest["deploymentCircuitBreaker"]["status"] == "MONITORING_COMPLETE"
    assert "lifecycleStage" not in newest  # a blue/green field
    described = fixture("ecs/DescribeServiceDeployments.to-describe-service-deployment-details.json")
    answer = wire(ecs.describe_service_deployments(serviceDeploymentArns=[newest["serviceDeploymentArn"]]))
    assert missing(described["output"], answer) == []


def test_a_breaker_rollback_is_the_same_service_deployment_rolled_back(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, good, bad, _ = update_to_bad(sim, {"crash": True}, desired=2, rollback=True)
    sim.wait(lambda: describe(ecs, "web")["taskDefinition"] == good, what="the breaker's rollback")
    sim.wait(lambda: completed(ecs, "web"), what="the rollback to complete")
    newest = sim.wait(lambda: (r := records(ecs)) and r[0]["status"] == "ROLLBACK_SUCCESSFUL" and r[0],
                      what="ROLLBACK_SUCCESSFUL")
    assert len(records(ecs)) == 2, "the rollback is no service deployment of its own"
    assert revision_td(ecs, newest["targetServiceRevision"]["arn"]) == bad
    assert newest["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert newest["rollback"]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert revision_td(ecs, newest["rollback"]["serviceRevisionArn"]) == good


def test_a_breaker_failure_without_rollback_claims_no_success(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, _, _, _ = update_to_bad(sim, {"crash": True}, desired=1, rollback=False)
    newest = sim.wait(lambda: (r := records(ecs)) and len(r) == 2 and r[0]["status"] not in ("PENDING", "IN_PROGRESS")
                      and r[0], what="the failure recorded")
    assert newest["status"] == "STOPPED" and newest["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert "rollback" not in newest
