"""`make demo`: a full rolling deploy of a sample service against the local AWS simulator.

Starts the simulator, creates what a team would already have in AWS (an ECR repository with
two images, a cluster, a service running v1), then runs the action's real binary exactly as
the GitHub runner would (INPUT_* variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) to deploy v2,
and prints the outputs and the job summary it wrote.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / "target/x86_64-unknown-linux-musl/debug/ecs-deploy-action"
REGION, ACCOUNT = "us-east-1", "123456789012"


def start_simulator():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.aws", "--port", "0", "--time-scale", "60"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        sys.exit(f"the simulator did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def push_image(ecr, repo, tag):
    layer = hashlib.sha256(f"{repo}:{tag}".encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": "sha256:" + hashlib.sha256(f"{repo}:{tag}:config".encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3208942,
                    "digest": f"sha256:{layer}"}],
    }
    out = ecr.put_image(repositoryName=repo, imageTag=tag, imageManifest=json.dumps(manifest))
    return out["image"]["imageId"]["imageDigest"]


def wait_stable(ecs, cluster, service):
    for _ in range(300):
        s = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        d = s["deployments"]
        if len(d) == 1 and d[0].get("rolloutState") == "COMPLETED" and s["runningCount"] == s["desiredCount"]:
            return
        time.sleep(0.1)
    sys.exit(f"{service} never became stable")


def main():
    sim, endpoint = start_simulator()
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
    print("$ ecs-deploy-action  # with: cluster=demo services=web image=shop/web:v1.1.0 stage=dev version=v1.1.0\n")

    with tempfile.TemporaryDirectory() as tmp:
        output, summary = Path(tmp, "output"), Path(tmp, "summary.md")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIADEMO", "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "1", "GITHUB_SHA": "4f1c2b7e" * 5,
            "INPUT_CLUSTER": "demo", "INPUT_SERVICES": "web", "INPUT_IMAGE": image("v1.1.0"),
            "INPUT_STAGE": "dev", "INPUT_VERSION": "v1.1.0", "INPUT_WAIT-TIMEOUT": "5m",
        }
        started = time.monotonic()
        code = subprocess.call([str(BINARY)], env=env)
        took = time.monotonic() - started
        print(f"\nexit code {code} after {took:.1f} s")
        print("\n--- outputs (GITHUB_OUTPUT) ---")
        print(output.read_text() if output.exists() else "(none)")
        print("--- job summary (GITHUB_STEP_SUMMARY) ---")
        print(summary.read_text() if summary.exists() else "(none)")
    sim.stdin.close()
    sim.wait(timeout=10)
    sys.exit(code)


if __name__ == "__main__":
    main()
