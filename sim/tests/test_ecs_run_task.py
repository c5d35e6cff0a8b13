"""RunTask: one-off tasks run their command, exit with the scenario's code and stop."""
import pytest
from botocore.exceptions import ClientError

from aws_sim import network, register, server, sim  # noqa: F401 (fixtures)


def run(sim, ecs, td, **kwargs):
    _, subnets, sg = network(sim)
    return ecs.run_task(cluster="c1", taskDefinition=td, launchType="FARGATE", startedBy="ecs-deploy-action",
                        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
                        overrides={"containerOverrides": [{"name": "app", "command": ["migrate", "up"]}]},
                        **kwargs)["tasks"][0]


def stopped(ecs, arn):
    out = ecs.describe_tasks(cluster="c1", tasks=[arn])
    tasks = out["tasks"]
    return tasks[0] if tasks and tasks[0]["lastStatus"] == "STOPPED" else None


def test_a_task_runs_its_command_and_exits_zero(sim):
    # At 6x the 5 s of invisibility last 0.8 s of real time: enough for the next call to land
    # inside them on a loaded machine (at 30x it was 0.17 s, and CI's make test missed it once).
    sim.call("PUT", "/_sim/config", {"time_scale": 6})
    sim.call("PUT", "/_sim/scenarios", {":migrate": {"task_seconds": 20}})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    td = register(ecs, "repo/web:migrate")
    task = run(sim, ecs, td)
    assert task["lastStatus"] == "PROVISIONING" and task["desiredStatus"] == "RUNNING"
    assert task["startedBy"] == "ecs-deploy-action" and task["group"] == "family:web"
    # Not visible at once (eventual consistency): DescribeTasks lists it as MISSING.
    first = ecs.describe_tasks(cluster="c1", tasks=[task["taskArn"]])
    assert first["tasks"] == [] and first["failures"] == [{"arn": task["taskArn"], "reason": "MISSING"}]
    seen = set()

    def done():
        out = ecs.describe_tasks(cluster="c1", tasks=[task["taskArn"]])["tasks"]
        seen.update(t["lastStatus"] for t in out)
        return stopped(ecs, task["taskArn"])

    t = sim.wait(done, what="the task to stop")
    assert t["stopCode"] == "EssentialContainerExited" and t["stoppedReason"] == "Essential container in task exited"
    assert t["containers"][0]["exitCode"] == 0
    assert t["overrides"]["containerOverrides"][0]["command"] == ["migrate", "up"]
    assert {"RUNNING", "DEPROVISIONING"} <= seen


def test_a_failing_command_exits_with_its_code_and_a_task_that_cannot_start_has_none(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 600})
    sim.call("PUT", "/_sim/scenarios", {
        ":fails": {"task_seconds": 5, "task_exit_code": 3},
        ":nopull": {"task_stop_reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)"},
    })
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    failing = run(sim, ecs, register(ecs, "repo/web:fails"))
    t = sim.wait(lambda: stopped(ecs, failing["taskArn"]), what="the failing task to stop")
    assert t["containers"][0]["exitCode"] == 3 and t["stopCode"] == "EssentialContainerExited"
    never = run(sim, ecs, register(ecs, "repo/web:nopull", family="other"))
    t = sim.wait(lambda: stopped(ecs, never["taskArn"]), what="the unstartable task to stop")
    assert t["stopCode"] == "TaskFailedToStart" and t["stoppedReason"].startswith("CannotPullContainerError")
    assert "exitCode" not in t["containers"][0]


def test_an_awsvpc_task_without_a_network_is_refused(sim):
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    td = register(ecs, "repo/web:v1")
    with pytest.raises(ClientError) as e:
        ecs.run_task(cluster="c1", taskDefinition=td, launchType="FARGATE")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Network Configuration must be provided" in e.value.response["Error"]["Message"]


def test_a_client_token_used_again_starts_nothing_new(sim):
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    td = register(ecs, "repo/web:v1")
    first = run(sim, ecs, td, clientToken="deploy-1")
    again = run(sim, ecs, td, clientToken="deploy-1")
    other = run(sim, ecs, td, clientToken="deploy-2")
    assert first["taskArn"] == again["taskArn"] != other["taskArn"]
