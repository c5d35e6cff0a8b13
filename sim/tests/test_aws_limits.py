"""AWS's input limits the simulator enforces where moto does not."""
import pytest
from botocore.exceptions import ClientError

from aws_sim import alb, register, server, sim  # noqa: F401 (fixtures)


def refused(fn) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_forward_actions_take_at_most_five_groups_weighted_0_to_999(sim):
    elb = sim.client("elbv2", retries=1)
    _, tgs, listener = alb(sim, "lb-limits", [f"tg-{i}" for i in range(5)])
    vpc = elb.describe_target_groups(TargetGroupArns=[tgs[0]])["TargetGroups"][0]["VpcId"]
    tgs.append(elb.create_target_group(Name="tg-5", Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"])
    forward = lambda weights: elb.modify_listener(ListenerArn=listener, DefaultActions=[{  # noqa: E731
        "Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": t, "Weight": w} for t, w in zip(tgs, weights)]}}])
    forward([999, 0])
    assert refused(lambda: forward([1000, 0]))[0] == "ValidationError"
    assert refused(lambda: forward([-1, 100]))[0] == "ValidationError"
    assert "5 target groups" in refused(lambda: forward([1] * 6))[1]
    forward([1] * 5)


def test_ecs_tags_are_limited_as_on_aws(sim):
    ecs = sim.client("ecs", retries=1)
    arn = register(ecs, "app:v1")
    tag = lambda tags: ecs.tag_resource(resourceArn=arn, tags=tags)  # noqa: E731
    tag([{"key": "k", "value": "v" * 256}])
    assert refused(lambda: tag([{"key": "k", "value": "v" * 257}]))[0] == "InvalidParameterException"
    assert refused(lambda: tag([{"key": "k" * 129, "value": ""}]))[0] == "InvalidParameterException"
    assert "aws:" in refused(lambda: tag([{"key": "aws:owner", "value": "me"}]))[1]
    tag([{"key": f"t{i}", "value": ""} for i in range(49)])  # 50 with "k"
    assert "50 tags" in refused(lambda: tag([{"key": "one-more", "value": ""}]))[1]
    tag([{"key": "k", "value": "replaced"}])  # an existing key is no new tag


def test_a_service_created_with_a_short_arn_keeps_it_and_cannot_be_tagged(sim):
    ecs = sim.client("ecs", retries=1)
    ecs.create_cluster(clusterName="old")
    td = register(ecs, "app:v1")
    ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")
    ecs.create_service(cluster="old", serviceName="legacy", taskDefinition=td, desiredCount=0)
    ecs.put_account_setting(name="serviceLongArnFormat", value="enabled")
    ecs.create_service(cluster="old", serviceName="modern", taskDefinition=td, desiredCount=0)
    arns = {s["serviceName"]: s["serviceArn"] for s in
            ecs.describe_services(cluster="old", services=["legacy", "modern"])["services"]}
    assert arns["legacy"].endswith(":service/legacy") and arns["modern"].endswith(":service/old/modern")
    code, message = refused(lambda: ecs.tag_resource(resourceArn=arns["legacy"], tags=[{"key": "k", "value": "v"}]))
    assert (code, message) == ("InvalidParameterException", "Long arn format must be used for tagging operations")
    ecs.tag_resource(resourceArn=arns["modern"], tags=[{"key": "k", "value": "v"}])


def test_another_caller_sees_a_tag_change_only_after_the_visibility_delay(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "tag_visibility_seconds": 30})  # half a real second
    writer, reader = sim.client("ecs", access_key="AKIDWRITER"), sim.client("ecs", access_key="AKIDREADER")
    arn = register(writer, "app:v1")
    tags = lambda c: {t["key"]: t["value"] for t in c.list_tags_for_resource(resourceArn=arn)["tags"]}  # noqa: E731
    writer.tag_resource(resourceArn=arn, tags=[{"key": "lock", "value": "a"}])
    assert tags(writer) == {"lock": "a"}  # read-your-writes
    assert tags(reader) == {}  # not yet for anyone else
    sim.wait(lambda: tags(reader) == {"lock": "a"}, timeout=3, what="the tag to become visible")
    writer.untag_resource(resourceArn=arn, tagKeys=["lock"])
    assert tags(reader) == {"lock": "a"} and tags(writer) == {}


def test_describe_services_with_tags_sees_the_same_delay(sim):
    from aws_sim import service
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "tag_visibility_seconds": 30})  # half a real second
    writer, reader = sim.client("ecs", access_key="AKIDWRITER"), sim.client("ecs", access_key="AKIDREADER")
    writer.create_cluster(clusterName="c1")
    service(sim, "tagged", register(writer, "app:v1"), desired=1)
    arn = writer.describe_services(cluster="c1", services=["tagged"])["services"][0]["serviceArn"]

    def tags(c):
        s = c.describe_services(cluster="c1", services=["tagged"], include=["TAGS"])["services"][0]
        return {t["key"]: t["value"] for t in s.get("tags", [])}
    writer.tag_resource(resourceArn=arn, tags=[{"key": "lock", "value": "a"}])
    assert tags(writer) == {"lock": "a"}  # read-your-writes
    assert tags(reader) == {}  # not yet for anyone else
    sim.wait(lambda: tags(reader) == {"lock": "a"}, timeout=3, what="the tag to become visible")
    writer.untag_resource(resourceArn=arn, tagKeys=["lock"])
    assert tags(reader) == {"lock": "a"} and tags(writer) == {}


def test_a_service_without_security_groups_gets_its_vpcs_default_one(sim):
    """AwsVpcConfiguration.securityGroups (ECS API Reference): "If you don't specify a security
    group, the default security group for the VPC is used." Not an HTTP 500."""
    from aws_sim import completed, network, register
    ecs = sim.client("ecs", retries=1)
    ecs.create_cluster(clusterName="c1")
    _, subnets, _ = network(sim)
    td = register(ecs, "repo/web:v1")
    ecs.create_service(cluster="c1", serviceName="nosg", taskDefinition=td, desiredCount=1, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}})
    sim.wait(lambda: completed(ecs, "nosg"), timeout=30, what="the service to run")
