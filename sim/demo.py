"""`make demo`: a full rolling deploy of a sample service against the local AWS simulator.

Starts the simulator, creates what a team would already have in AWS (an ECR repository with
two images, a cluster, a service running v1), then runs the action's real binary exactly as
the GitHub runner would (INPUT_* variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) to deploy v2,
and prints the outputs and the job summary it wrote.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
import yaml

from sim.images import push_image

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / "target/x86_64-unknown-linux-musl/debug/ecs-deploy-action"
REGION, ACCOUNT = "us-east-1", "123456789012"
SHA, TOKEN = "4f1c2b7e" * 5, "ghs_demoToken"
GITHUB = {}


def start_github():
    """The GitHub fake behind prism (GitHub's OpenAPI description validates every call)."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.github", "--port", "0"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        sys.exit(f"the GitHub fake did not start: {line!r}")
    api, control = line[len("READY "):].split(" control=")
    GITHUB.update(api=api, control=control)
    seed = {"repos": {"acme/shop": {
        "pulls": [{"number": 12, "title": "Faster checkout", "head_ref": "feat/checkout", "head_sha": SHA,
                   "base_ref": "main", "state": "closed", "merged": True}],
        "commit_pulls": {SHA: [12]},
    }}}
    urllib.request.urlopen(urllib.request.Request(f"{control}/_fake/state", data=json.dumps(seed).encode(),
                                                  method="PUT", headers={"Content-Type": "application/json"}))
    return proc


def show_github():
    """Where a user sees each report on GitHub (read back from the fake)."""
    state = json.load(urllib.request.urlopen(f"{GITHUB['control']}/_fake/state"))["repos"]["acme/shop"]
    print("\n=== on GitHub (read back from the fake; every call was checked against GitHub's OpenAPI description) ===")
    print("Checks tab of the commit (check runs):")
    for c in state.get("check_runs", []):
        print(f"  {c['name']}: {c.get('status')} / {c.get('conclusion')}")
    comments = state.get("comments", [])
    print(f"Pull request #12 (one sticky comment, updated in place; {len(comments)} comment(s)):")
    for c in comments:
        print("  " + "\n  ".join(line for line in c["body"].splitlines() if line.startswith("|")))
    print("Environments page (deployments and their statuses):")
    for d in state.get("deployments", []):
        print(f"  {d['environment']}: " + " -> ".join(s['state'] for s in d.get("statuses", [])))
    print("Job summary: GITHUB_STEP_SUMMARY (printed after each run above)")


def start_simulator():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.aws", "--port", "0", "--time-scale", "60"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        sys.exit(f"the simulator did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def wait_stable(ecs, cluster, service):
    for _ in range(300):
        s = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        d = s["deployments"]
        if len(d) == 1 and d[0].get("rolloutState") == "COMPLETED" and s["runningCount"] == s["desiredCount"]:
            return
        time.sleep(0.1)
    sys.exit(f"{service} never became stable")


def run_action(endpoint, inputs, title):
    """Runs the real binary as the runner would and prints what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        output, summary = Path(tmp, "output"), Path(tmp, "summary.md")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": endpoint, "ECS_DEPLOY_TIME_SCALE": "60", "AWS_ACCESS_KEY_ID": "AKIADEMO", "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "1", "GITHUB_SHA": SHA,
            "GITHUB_SERVER_URL": "https://github.com", "GITHUB_EVENT_NAME": "push",
            "GITHUB_API_URL": GITHUB["api"], "INPUT_GITHUB-TOKEN": TOKEN,
        }
        # As GitHub's runner passes them: every input action.yml declares, at its default
        # unless the step sets it (TESTING.md, "How the tests start the action").
        declared = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
        for name, spec in declared.items():
            default = str(spec.get("default", "")).replace("${{ github.token }}", TOKEN)
            env[f"INPUT_{name.upper()}"] = default
        env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        env.update({"GITHUB_ACTIONS": "true", "CI": "true"})
        print(f"\n$ ecs-deploy-action  # {title}\n")
        started = time.monotonic()
        code = subprocess.call([str(BINARY)], env=env)
        print(f"\nexit code {code} after {time.monotonic() - started:.1f} s")
        print("\n--- outputs (GITHUB_OUTPUT) ---")
        print(output.read_text() if output.exists() else "(none)")
        print("--- job summary (GITHUB_STEP_SUMMARY) ---")
        print(summary.read_text() if summary.exists() else "(none)")
        return code


def canary_topology(session, endpoint, ecs, image):
    """Two slot services behind one ALB listener (blue live at 100, green idle at 0)."""
    ec2 = session.client("ec2", endpoint_url=endpoint)
    elb = session.client("elbv2", endpoint_url=endpoint)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    sg = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    lb = elb.create_load_balancer(Name="shop-prod", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tgs = [elb.create_target_group(Name=f"shop-{c}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
           ["TargetGroups"][0]["TargetGroupArn"] for c in ("blue", "green")]
    for tg in tgs:  # fast draining for a demo
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{
        "Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tgs[0], "Weight": 100}, {"TargetGroupArn": tgs[1], "Weight": 0}]}}])["Listeners"][0]["ListenerArn"]
    ecs.create_cluster(clusterName="prod")
    td = ecs.register_task_definition(
        family="shop-web-prod", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": image, "essential": True, "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    for color, tg, count in (("blue", tgs[0], 2), ("green", tgs[1], 0)):
        ecs.create_service(
            cluster="prod", serviceName=f"web-{color}", taskDefinition=td, desiredCount=count, launchType="FARGATE",
            loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
        )
        wait_stable(ecs, "prod", f"web-{color}")
    return listener


def main():
    sim, endpoint = start_simulator()
    github = start_github()
    print(f"GitHub fake (behind prism) at {GITHUB['api']}")
    print(f"AWS simulator at {endpoint} (1 simulated minute per real second)\n")
    session = boto3.Session(aws_access_key_id="AKIADEMO", aws_secret_access_key="demo", region_name=REGION)
    ecs = session.client("ecs", endpoint_url=endpoint)
    ecr = session.client("ecr", endpoint_url=endpoint)

    ecr.create_repository(repositoryName="shop/web")
    push_image(ecr, "shop/web", "v1.0.0")
    push_image(ecr, "shop/web", "v1.1.0")
    image = lambda tag: f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/web:{tag}"
    ecs.create_cluster(clusterName="demo")
    td = ecs.register_task_definition(
        family="shop-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[
            {"name": "web", "image": image("v1.0.0"), "essential": True, "portMappings": [{"containerPort": 8080}]},
            {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "essential": False},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="demo", serviceName="web", taskDefinition=td, desiredCount=3, launchType="FARGATE",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    wait_stable(ecs, "demo", "web")
    print("cluster demo: service web runs shop/web:v1.0.0 (3 tasks)\n")

    code = run_action(endpoint, {"CLUSTER": "demo", "SERVICES": "web", "IMAGE": image("v1.1.0"), "STAGE": "dev",
                                 "VERSION": "v1.1.0", "WAIT-TIMEOUT": "5m"},
                      "cluster=demo services=web image=shop/web:v1.1.0 stage=dev version=v1.1.0")

    # Progressive delivery: a canary of a bad version is caught at its first step and rolled back.
    print("\n\n=== canary: shop/web:v1.2.0 returns 8% 5xx; the action catches it at 5% and rolls back ===")
    push_image(ecr, "shop/web", "v1.2.0")
    bad = [d for d in ecr.describe_images(repositoryName="shop/web", imageIds=[{"imageTag": "v1.2.0"}])["imageDetails"]][0]["imageDigest"]
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/_sim/scenarios", data=json.dumps({bad: {"error_rate": 0.08}}).encode(), method="PUT"))
    listener = canary_topology(session, endpoint, ecs, image("v1.1.0"))
    print("cluster prod: web-blue (live, 100%) and web-green (idle, 0%) behind one ALB listener")
    canary = {
        "CLUSTER": "prod", "SERVICES": "web-blue, web-green", "STRATEGY": "canary", "LISTENER-ARN": listener,
        "CANARY-STEPS": "5,25,50,100", "BAKE-TIME": "3s", "ANALYSIS-INTERVAL": "1s", "MIN-REQUESTS": "10",
        "KEEP-OLD-FOR": "2s", "STAGE": "prod",
    }
    bad_code = run_action(endpoint, {**canary, "IMAGE": image("v1.2.0"), "VERSION": "v1.2.0"},
                          "strategy=canary image=shop/web:v1.2.0 (bad)")
    print("\n=== the same canary with a good version walks 5 -> 25 -> 50 -> 100 ===")
    push_image(ecr, "shop/web", "v1.2.1")
    good_code = run_action(endpoint, {**canary, "IMAGE": image("v1.2.1"), "VERSION": "v1.2.1"},
                           "strategy=canary image=shop/web:v1.2.1")
    print(f"\nrolling: exit {code}; bad canary: exit {bad_code} (rolled back, as it should); good canary: exit {good_code}")
    show_github()
    github.stdin.close()
    github.wait(timeout=20)
    sim.stdin.close()
    sim.wait(timeout=10)
    sys.exit(0 if (code, bad_code, good_code) == (0, 1, 0) else 1)


if __name__ == "__main__":
    main()
