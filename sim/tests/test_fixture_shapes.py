"""The simulator's answers have the shape of AWS's own recorded answers (tests/fixtures/aws,
each naming its source): every field AWS's example carries, the simulator's answer carries too,
with the same JSON type. The same files drive the Rust adapters' tests (tests/aws_fixtures.rs).
AWS's examples must also pass the botocore model check, so that check is never stricter than AWS."""
import json
import pathlib

from sim.aws import model_check
from sim.aws.core import sim as state

from aws_sim import describe, register, server, service, sim  # noqa: F401 (fixtures)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "aws"


def fixture(path):
    f = json.loads((FIXTURES / path).read_text())
    assert any(s in f["source"] for s in ["botocore", "aws-cli", "API Reference"]), f"{path} names its source"
    return f


def missing(example, answer, at=""):
    """The paths of `example` that `answer` lacks or types differently (lists: first items)."""
    if isinstance(example, dict):
        if not isinstance(answer, dict):
            return [f"{at}: {type(answer).__name__} where AWS has an object"]
        out = []
        for k, v in example.items():
            if k not in answer:
                out.append(f"{at}.{k}")
            else:
                out += missing(v, answer[k], f"{at}.{k}")
        return out
    if isinstance(example, list):
        if not isinstance(answer, list):
            return [f"{at}: {type(answer).__name__} where AWS has a list"]
        return missing(example[0], answer[0], f"{at}[0]") if example and answer else []
    numeric = (int, float)
    same = isinstance(answer, numeric) if isinstance(example, numeric) else type(answer) is type(example)
    return [] if same else [f"{at}: {type(answer).__name__} where AWS has {type(example).__name__}"]


def model_problems(operation, output):
    state.model_violations.clear()
    info = {"service": "ecs", "operation": operation, "access_key": "AKIDFIXTURE", "json": True}
    model_check.check(info, 200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(output).encode())
    return [p for v in state.model_violations for p in v["problems"]]


def test_aws_own_examples_pass_the_model_check():
    for path in ["ecs/DescribeServices.to-describe-a-service.json",
                 "ecs/DescribeTaskDefinition.to-describe-a-task-definition.json"]:
        f = fixture(path)
        assert model_problems(f["operation"], f["output"]) == [], path


def test_describe_services_has_every_field_of_aws_example(sim):
    f = fixture("ecs/DescribeServices.to-describe-a-service.json")
    ecs = sim.client("ecs")
    td = register(ecs, "nginx:1")
    service(sim, "web", td, desired=1)
    answer = ecs.describe_services(cluster="c1", services=["web"])
    # Dates go over the wire as epoch numbers; AWS's example writes them as text.
    example = json.loads(json.dumps(f["output"]))
    for s in example["services"]:
        s.pop("createdAt")
        s.pop("events")  # a new service may have none yet
        for d in s["deployments"]:
            d.pop("createdAt")
            d.pop("updatedAt")
    answer.pop("ResponseMetadata")
    assert missing(example, json.loads(json.dumps(answer, default=str))) == []


def test_describe_task_definition_has_every_field_of_aws_example(sim):
    f = fixture("ecs/DescribeTaskDefinition.to-describe-a-task-definition.json")
    ecs = sim.client("ecs")
    ecs.register_task_definition(
        family="hello_world",
        containerDefinitions=[
            {"name": "wordpress", "cpu": 10, "environment": [], "essential": True, "image": "wordpress",
             "links": ["mysql"], "memory": 500, "mountPoints": [], "portMappings": [{"containerPort": 80, "hostPort": 80}],
             "volumesFrom": []},
            {"name": "mysql", "cpu": 10, "environment": [{"name": "MYSQL_ROOT_PASSWORD", "value": "password"}],
             "essential": True, "image": "mysql", "memory": 500, "mountPoints": [], "portMappings": [], "volumesFrom": []},
        ],
    )
    answer = ecs.describe_task_definition(taskDefinition="hello_world")
    answer.pop("ResponseMetadata")
    assert missing(f["output"], json.loads(json.dumps(answer, default=str))) == []


def wire(answer):
    """A boto3 answer as JSON, without botocore's own metadata."""
    answer.pop("ResponseMetadata", None)
    # Timestamps travel as epoch seconds (botocore parsed them into datetimes).
    return json.loads(json.dumps(answer, default=lambda t: t.timestamp()))


def test_service_deployments_have_every_field_of_aws_examples(sim):
    from test_ecs_native import native_service, service_deployment
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    ecs, _, _ = native_service(sim, "sd", "BLUE_GREEN")
    ecs.update_service(cluster="c1", service="sd", taskDefinition=register(ecs, "repo/sd:v2", family="sd"))
    arn = service_deployment(sim, ecs, "sd")
    sim.wait(lambda: ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]["status"]
             == "SUCCESSFUL", timeout=30, what="the deployment to succeed")
    listed = fixture("ecs/ListServiceDeployments.to-list-service-deployments.json")
    assert missing(listed["output"], wire(ecs.list_service_deployments(cluster="c1", service="sd"))) == []
    described = fixture("ecs/DescribeServiceDeployments.to-describe-service-deployment-details.json")
    answer = wire(ecs.describe_service_deployments(serviceDeploymentArns=[arn]))
    assert missing(described["output"], answer) == []


def test_get_deployment_has_every_field_of_aws_example(sim):
    from test_codedeploy_ecs import appspec, setup
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    ecs, _, cd, _ = setup(sim, "gd", config="CodeDeployDefault.ECSAllAtOnce")
    v2 = register(ecs, "repo/gd:v2", family="gd")
    dep = cd.create_deployment(applicationName="gd", deploymentGroupName="gd-dg", revision=appspec(v2))["deploymentId"]
    sim.wait(lambda: cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] == "Succeeded", timeout=30,
             what="success")
    example = json.loads(json.dumps(fixture("codedeploy/GetDeployment.to-get-information-about-a-deployment.json")["output"]))
    info = example["deploymentInfo"]
    # AWS's example is an EC2 deployment of an S3 bundle: its revision is another type, and
    # its description is one the caller gave.
    for k in ["revision", "description"]:
        info.pop(k)
    assert missing(example, wire(cd.get_deployment(deploymentId=dep))) == []


def test_describe_target_health_has_every_field_of_aws_example(sim):
    from test_codedeploy_ecs import setup
    ecs, elb, _, r = setup(sim, "th")
    example = fixture("elbv2/DescribeTargetHealth.elbv2-describe-target-health-1.json")["output"]
    healthy = {"TargetHealthDescriptions": [d for d in example["TargetHealthDescriptions"]
                                            if d["TargetHealth"]["State"] == "healthy"]}
    answer = sim.wait(lambda: (a := elb.describe_target_health(TargetGroupArn=r["blue"]))["TargetHealthDescriptions"]
                      and all(d["TargetHealth"]["State"] == "healthy" for d in a["TargetHealthDescriptions"]) and a,
                      timeout=30, what="healthy targets")
    assert missing(healthy, wire(answer)) == []


def test_get_metric_data_has_every_field_of_aws_example(sim):
    import datetime
    cw = sim.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace="AWS/Billing", MetricData=[
        {"MetricName": "EstimatedCharges", "Dimensions": [{"Name": "Currency", "Value": "USD"}],
         "Timestamp": now - datetime.timedelta(minutes=5), "Value": 542.38}])
    f = fixture("cloudwatch/GetMetricData.to-monitor-the-estimated-aws-charges.json")
    query = dict(f["input"]["MetricDataQueries"][0], MetricStat={**f["input"]["MetricDataQueries"][0]["MetricStat"], "Period": 60})
    answer = wire(cw.get_metric_data(MetricDataQueries=[query], StartTime=now - datetime.timedelta(minutes=10), EndTime=now))
    assert answer["MetricDataResults"][0]["Values"], answer
    assert missing(f["output"], answer) == []
