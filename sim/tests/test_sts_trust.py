"""AssumeRole: only a role that exists and trusts the caller; its sessions act in its account
and are held to the policy bound to the role."""
import json
import urllib.error

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from aws_sim import server, sim  # noqa: F401 (fixtures)

PROD = "210987654321"


def trust(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


def role_in_prod(sim, name, principal):
    """A role in prod's account (made as prod's administrator would, through the control API)."""
    sim.call("POST", "/_sim/iam/role", {"account": PROD, "name": name, "trust": trust(principal)})
    return f"arn:aws:iam::{PROD}:role/{name}"


def session(sim, sts, role_arn):
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name="us-east-1")


def test_a_trusted_role_acts_in_its_account_and_an_untrusted_or_missing_one_is_refused(sim):
    sts = sim.client("sts")
    deploy = role_in_prod(sim, "ecs-deploy-prod", "arn:aws:iam::123456789012:root")
    prod = session(sim, sts, deploy)
    ecs = prod.client("ecs", endpoint_url=sim.url, config=Config(retries={"total_max_attempts": 1}))
    ecs.create_cluster(clusterName="prod")
    assert ecs.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{PROD}:cluster/prod"]
    assert "prod" not in str(sim.client("ecs").list_clusters()["clusterArns"]), "not in the default account"

    other = role_in_prod(sim, "someone-else", "arn:aws:iam::999999999999:root")
    for arn in (other, f"arn:aws:iam::{PROD}:role/does-not-exist"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sts.assume_role(RoleArn=arn, RoleSessionName="test")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert f"is not authorized to perform: sts:AssumeRole on resource: {arn}" in str(e.value)


def test_a_policy_bound_to_a_role_holds_its_sessions(sim):
    deploy = role_in_prod(sim, "ecs-deploy-bound", "123456789012")
    sim.call("PUT", "/_sim/iam", {"role_arn": deploy, "policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:ListTaskDefinitions", "Resource": "*"}]}})
    ecs = session(sim, sim.client("sts"), deploy).client(
        "ecs", endpoint_url=sim.url, config=Config(retries={"total_max_attempts": 1}))
    ecs.list_task_definitions()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ecs.list_tasks(cluster="prod")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"arn:aws:sts::{PROD}:" in str(e.value) and "no identity-based policy allows" in str(e.value)


def test_a_trust_policy_given_as_an_object_makes_the_same_role_and_a_bad_one_is_a_400(sim):
    doc = json.loads(trust("123456789012"))
    sim.call("POST", "/_sim/iam/role", {"account": PROD, "name": "as-object", "trust": doc})
    session(sim, sim.client("sts"), f"arn:aws:iam::{PROD}:role/as-object")
    for bad in (42, "not json"):
        with pytest.raises(urllib.error.HTTPError) as e:
            sim.call("POST", "/_sim/iam/role", {"account": PROD, "name": "bad", "trust": bad})
        assert e.value.code == 400
