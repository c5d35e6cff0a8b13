"""Shared by the AWS simulator tests: one simulator process per test run (reset before every
test) and small resource builders. Not a conftest.py: sim/tests is shared with other fakes."""
import atexit
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args):
    proc = subprocess.Popen([sys.executable, "-m", "sim.aws", "--port", "0", *args], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), line
    return proc, line.split()[1]


class Sim:
    def __init__(self, url):
        self.url = url

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def client(self, service, access_key="AKIDTEST", retries=3):
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=access_key, aws_secret_access_key="secret",
                            config=Config(retries={"total_max_attempts": retries, "mode": "standard"}))

    def wait(self, predicate, timeout=15.0, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


_server = []


@pytest.fixture(scope="session")
def server():
    """Each importing module gets this fixture; they all share one process."""
    if not _server:
        proc, url = spawn("--time-scale", "60")
        atexit.register(proc.stdin.close)  # stdin EOF ends the simulator
        _server.append(Sim(url))
    return _server[0]


@pytest.fixture
def sim(server):
    """A reset simulator; afterwards no answer may have broken botocore's output shapes."""
    server.call("POST", "/_sim/reset")
    yield server
    violations = server.call("GET", "/_sim/model-violations")
    assert violations == [], violations


DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")


def register(ecs, image, family="web"):
    td = ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": image, "essential": True, "portMappings": [{"containerPort": 8080}]}],
    )
    return td["taskDefinition"]["taskDefinitionArn"]


def network(sim):
    ec2 = sim.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    sg = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    return vpc, subnets, sg


def alb(sim, name, target_groups, weights=None):
    """An ALB with one listener forwarding to the given target group names (weighted)."""
    elb = sim.client("elbv2")
    vpc, subnets, _ = network(sim)
    lb = elb.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tgs = [elb.create_target_group(Name=t, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
           for t in target_groups]
    weights = weights or [1] * len(tgs)
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": t, "Weight": w} for t, w in zip(tgs, weights)]},
    }])["Listeners"][0]["ListenerArn"]
    return lb, tgs, listener


def service(sim, name, td, desired=2, target_group=None, circuit_breaker=None, cluster="c1", percents=None):
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    _, subnets, sg = network(sim)
    kwargs = {}
    if target_group:
        kwargs["loadBalancers"] = [{"targetGroupArn": target_group, "containerName": "app", "containerPort": 8080}]
    if circuit_breaker or percents:
        kwargs["deploymentConfiguration"] = {**({"deploymentCircuitBreaker": circuit_breaker} if circuit_breaker else {}),
                                             **(percents or {})}
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=desired, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}}, **kwargs)
    return ecs


def describe(ecs, name, cluster="c1"):
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def completed(ecs, name, cluster="c1"):
    s = describe(ecs, name, cluster)
    return len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED" and s
