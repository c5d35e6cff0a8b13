"""The simulator's answers are checked against botocore's service models."""
import json

from sim.aws import model_check
from sim.aws.core import sim as state

from aws_sim import server, sim  # noqa: F401 (fixtures)


def answer(service, operation, body, as_json=True):
    state.model_violations.clear()
    info = {"service": service, "operation": operation, "access_key": "AKIDMODEL", "json": as_json}
    model_check.check(info, 200, [("Content-Type", "application/x-amz-json-1.1")], body)
    return [p for v in state.model_violations for p in v["problems"]]


def test_an_answer_outside_the_model_is_named():
    bad = {"services": [{"serviceName": "web", "deployments": [{"rolloutState": "DONE", "desiredCount": "2"}]}]}
    problems = answer("ecs", "DescribeServices", json.dumps(bad).encode())
    assert any("rolloutState: 'DONE' is not one of" in p for p in problems), problems
    assert any("desiredCount: expected an integer" in p for p in problems), problems
    xml = (b'<DescribeTargetHealthResponse><DescribeTargetHealthResult><TargetHealthDescriptions><member>'
           b'<TargetHealth><State>fine</State></TargetHealth></member></TargetHealthDescriptions>'
           b'</DescribeTargetHealthResult></DescribeTargetHealthResponse>')
    problems = answer("elasticloadbalancing", "DescribeTargetHealth", xml, as_json=False)
    assert problems == ["DescribeTargetHealth.TargetHealthDescriptions[0].TargetHealth.State: 'fine' is not one of "
                        "the model's values ['initial', 'healthy', 'unhealthy', 'unhealthy.draining', 'unused', "
                        "'draining', 'unavailable']"], problems


def test_a_model_answer_passes():
    good = {"services": [{"serviceName": "web", "deployments": [{"rolloutState": "COMPLETED", "desiredCount": 2}]}]}
    assert answer("ecs", "DescribeServices", json.dumps(good).encode()) == []


def test_the_simulators_own_answers_are_checked(sim):
    ecs = sim.client("ecs", access_key="AKIDMODELS")
    ecs.create_cluster(clusterName="m")
    ecs.describe_clusters(clusters=["m"])
    calls = sim.call("GET", "/_sim/calls?access_key=AKIDMODELS")
    assert [c["operation"] for c in calls] == ["CreateCluster", "DescribeClusters"]
    assert sim.call("GET", "/_sim/model-violations?access_key=AKIDMODELS") == []
    assert sim.call("GET", "/_sim/config")["answers_checked"] == 2


def test_codedeploy_autoscaling_and_sts_answers_are_checked_too():
    missing_role = {"ScalableTargets": [{"ServiceNamespace": "ecs", "ResourceId": "service/c/web",
                                         "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1,
                                         "MaxCapacity": 4, "CreationTime": 1700000000}]}
    problems = answer("application-autoscaling", "DescribeScalableTargets", json.dumps(missing_role).encode())
    assert problems == ["DescribeScalableTargets.ScalableTargets[0].RoleARN: required by the model, missing"], problems
    bad_status = {"deploymentInfo": {"deploymentId": "d-1", "status": "Finished"}}
    problems = answer("codedeploy", "GetDeployment", json.dumps(bad_status).encode())
    assert any("status: 'Finished' is not one of" in p for p in problems), problems
    xml = (b'<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AKID</AccessKeyId>'
           b'</Credentials></AssumeRoleResult></AssumeRoleResponse>')
    problems = answer("sts", "AssumeRole", xml, as_json=False)
    assert any("SecretAccessKey: required by the model, missing" in p for p in problems), problems


def test_a_registered_ecs_target_answers_its_service_linked_role(sim):
    """RoleARN is required in DescribeScalableTargets' answer; for ECS it is the service-linked
    role Application Auto Scaling creates (API Reference, RegisterScalableTarget)."""
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    from aws_sim import register, service
    service(sim, "web", register(ecs, "repo/web:v1"), desired=1)
    aas = sim.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/c1/web",
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=3)
    target = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert target["RoleARN"].endswith(
        ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
