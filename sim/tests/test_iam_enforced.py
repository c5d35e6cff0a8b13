"""The simulator enforces an identity policy bound to an access key, as AWS evaluates it."""
import json

import pytest
from botocore.exceptions import ClientError

from aws_sim import ROOT, register, server, sim  # noqa: F401 (fixtures)

NAMES = {"REGION": "us-east-1", "ACCOUNT_ID": "123456789012", "CLUSTER": "prod", "FAMILY": "web",
         "REPOSITORY": "app", "LOAD_BALANCER": "shop", "TASK_ROLE": "web-task", "EXECUTION_ROLE": "web-exec"}


def shipped_policy() -> dict:
    text = (ROOT / "iam-policy.json").read_text()
    for placeholder, value in NAMES.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def denied(fn) -> str:
    with pytest.raises(ClientError) as e:
        fn()
    assert e.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
    return e.value.response["Error"]["Message"]


def test_the_shipped_policy_allows_the_deploy_and_nothing_beside_it(sim):
    sim.call("PUT", "/_sim/iam", {"access_key": "AKIDDEPLOY", "policy": shipped_policy()})
    admin, ecs = sim.client("ecs"), sim.client("ecs", access_key="AKIDDEPLOY", retries=1)
    admin.create_cluster(clusterName="prod")
    admin.create_cluster(clusterName="other")
    td = register(admin, "app:v1")
    for cluster in ("prod", "other"):
        admin.create_service(cluster=cluster, serviceName="web", taskDefinition=td, desiredCount=0)
    ecs.describe_services(cluster="prod", services=["web"])
    ecs.update_service(cluster="prod", service="web", desiredCount=0)
    message = denied(lambda: ecs.update_service(cluster="other", service="web", desiredCount=0))
    assert "ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/other/web" in message
    ecs.list_tasks(cluster="prod", serviceName="web")  # allowed only through its ecs:cluster condition
    denied(lambda: ecs.list_tasks(cluster="other", serviceName="web"))
    arn = ecs.describe_services(cluster="prod", services=["web"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "ecs-deploy:lock", "value": "run 1"}])
    denied(lambda: ecs.tag_resource(resourceArn=arn, tags=[{"key": "owner", "value": "me"}]))
    ecs.untag_resource(resourceArn=arn, tagKeys=["ecs-deploy:lock"])
    denied(lambda: ecs.untag_resource(resourceArn=arn, tagKeys=[]))  # Null aws:TagKeys = false
    denied(lambda: ecs.delete_service(cluster="prod", service="web"))
    # Passing the task's own roles to ECS tasks is allowed; any other role is not.
    role = "arn:aws:iam::123456789012:role/"
    register_as = lambda r: ecs.register_task_definition(  # noqa: E731
        family="web", taskRoleArn=role + r, tags=[{"key": "ecs-deploy:release", "value": "v1"}],
        containerDefinitions=[{"name": "app", "image": "app:v2", "memory": 512}])
    register_as("web-task")
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/admin" in denied(lambda: register_as("admin"))


def test_other_services_refuse_in_their_own_protocol(sim):
    sim.call("PUT", "/_sim/iam", {"access_key": "AKIDNARROW", "policy": shipped_policy()})
    elb = sim.client("elbv2", access_key="AKIDNARROW", retries=1)
    cw = sim.client("cloudwatch", access_key="AKIDNARROW", retries=1)
    ecr = sim.client("ecr", access_key="AKIDNARROW", retries=1)
    # Allowed by the policy (ELB's Describe* take no resource): whatever ELB answers, not a denial.
    listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/other/1/2"
    try:
        elb.describe_listeners(ListenerArns=[listener])
    except ClientError as e:
        assert e.response["Error"]["Code"] != "AccessDenied", e
    rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/other/1/2/3"
    message = denied(lambda: elb.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "TargetGroupArn": "x"}]))
    assert f"elasticloadbalancing:ModifyRule on resource: {rule}" in message
    cw.describe_alarms(AlarmNames=["web-5xx"])
    denied(lambda: cw.put_metric_alarm(AlarmName="a", MetricName="m", Namespace="n", Statistic="Sum",
                                       Period=60, EvaluationPeriods=1, Threshold=1,
                                       ComparisonOperator="GreaterThanThreshold"))
    denied(lambda: ecr.describe_images(repositoryName="other"))
    calls = sim.call("GET", "/_sim/calls?access_key=AKIDNARROW")
    assert [c["status"] for c in calls if c["fault"] == "AccessDenied"] == [403, 400, 400]


def test_an_unknown_condition_operator_is_refused_when_bound(sim):
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                             "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}}]}
    with pytest.raises(Exception):
        sim.call("PUT", "/_sim/iam", {"access_key": "AKIDX", "policy": policy})


# --- the shipped policy covers every call the code makes -----------------------------------
SERVICES = {"ecs": "ecs", "ecr": "ecr", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch", "ssm": "ssm"}
FILE_SERVICE = {"ecs": "ecs", "ecs_diagnostics": "ecs", "ecr": "ecr", "elbv2": "elbv2", "cloudwatch": "cloudwatch",
                "ssm": "ssm"}


def operations_in_code() -> set[str]:
    """IAM actions of every SDK operation called in src/aws/ (`.describe_services()` etc.),
    named by botocore's service models; a name two services share goes to the file's service."""
    import re

    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    by_name: dict[str, list[str]] = {}
    for service in SERVICES:
        for op in session.get_service_model(service).operation_names:
            by_name.setdefault(xform_name(op), []).append(f"{SERVICES[service]}:{op}")
    found = set()
    for path in sorted((ROOT / "src" / "aws").glob("*.rs")):
        code = path.read_text().split("#[cfg(test)]")[0]
        for name in set(re.findall(r"\.\s*([a-z_]+)\(\)", code)):
            actions = by_name.get(name, [])
            if len(actions) > 1:
                mine = SERVICES.get(FILE_SERVICE.get(path.stem, ""))
                actions = [a for a in actions if a.startswith(f"{mine}:")]
            assert len(actions) <= 1, f"{path.name}: .{name}() could be any of {actions}"
            found.update(actions)
    return found


def missing_from(policy: dict, actions: set[str]) -> list[str]:
    from sim.aws.iam_policy import _glob, _listed

    allowed = [a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _listed(s.get("Action", []))]
    return sorted(a for a in actions if not any(_glob(p, a, case=False) for p in allowed))


def test_the_shipped_policy_allows_every_call_in_src_aws():
    actions = operations_in_code()
    assert {"ecs:UpdateService", "elasticloadbalancing:ModifyRule", "cloudwatch:GetMetricData",
            "ssm:GetParameters", "ssm:PutParameter"} <= actions
    assert missing_from(shipped_policy(), actions) == []


def test_a_policy_missing_an_action_is_named():
    policy = shipped_policy()
    for s in policy["Statement"]:
        if isinstance(s["Action"], list) and "ecs:DescribeServices" in s["Action"]:
            s["Action"].remove("ecs:DescribeServices")
    assert missing_from(policy, operations_in_code()) == ["ecs:DescribeServices"]


def test_a_bound_template_is_filled_in_with_the_resources_that_exist(sim):
    template = (ROOT / "iam-policy.json").read_text()
    sim.call("PUT", "/_sim/iam", {"access_key": "AKIDTEMPLATE", "template": template})
    admin, ecs = sim.client("ecs"), sim.client("ecs", access_key="AKIDTEMPLATE", retries=1)
    denied(lambda: ecs.describe_services(cluster="late", services=["web"]))
    admin.create_cluster(clusterName="late")  # created after binding: covered from now on
    ecs.describe_services(cluster="late", services=["web"])
