import time

from aws_sim import DEPLOYMENT_ID, completed, describe, register, service, server, sim  # noqa: F401 (fixtures)


def test_update_rolls_out_and_completes(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    v1, v2 = register(ecs, "repo/web:v1"), register(ecs, "repo/web:v2")
    service(sim, "web", v1, desired=2, circuit_breaker={"enable": True, "rollback": True})
    s = describe(ecs, "web")
    assert s["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    first = s["deployments"][0]
    assert DEPLOYMENT_ID.match(first["id"]) and first["status"] == "PRIMARY" and first["rolloutState"] == "IN_PROGRESS"
    assert first["rolloutStateReason"] == f"ECS deployment {first['id']} in progress."
    sim.wait(lambda: completed(ecs, "web"), what="first deployment")

    start = time.time()
    ecs.update_service(cluster="c1", service="web", taskDefinition=v2)
    s = describe(ecs, "web")
    assert [d["status"] for d in s["deployments"]] == ["PRIMARY", "ACTIVE"]
    new = s["deployments"][0]
    assert new["taskDefinition"] == v2 and new["desiredCount"] == 2 and new["rolloutState"] == "IN_PROGRESS"
    s = sim.wait(lambda: completed(ecs, "web"), what="update to complete")
    elapsed_sim = (time.time() - start) * 300
    assert elapsed_sim < 120, elapsed_sim  # 10 s start + a few ticks
    d = s["deployments"][0]
    assert d["id"] == new["id"] and d["runningCount"] == 2 and d["pendingCount"] == 0 and s["runningCount"] == 2
    assert d["rolloutStateReason"] == f"ECS deployment {new['id']} completed."
    messages = [e["message"] for e in s["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert messages[1] == f"(service web) (deployment {new['id']}) deployment completed."
    assert any(m.startswith("(service web) has started 2 tasks: (task ") for m in messages)

    running = ecs.list_tasks(cluster="c1", serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster="c1", tasks=running)["tasks"]
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"} and {t["startedBy"] for t in tasks} == {new["id"]}
    assert tasks[0]["group"] == "service:web" and tasks[0]["taskDefinitionArn"] == v2
    assert tasks[0]["containers"][0]["image"] == "repo/web:v2"
    stopped = ecs.list_tasks(cluster="c1", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    old = ecs.describe_tasks(cluster="c1", tasks=stopped)["tasks"]
    assert len(old) == 2 and all(t["lastStatus"] == "STOPPED" and "stoppedAt" in t for t in old)
    assert {t["stoppedReason"] for t in old} == {f"Scaling activity initiated by (deployment {first['id']})"}
    events = sim.call("GET", f"/_sim/events?since={start}")
    assert any(e["type"] == "deployment_completed" and e["deployment"] == new["id"] for e in events)

    # desiredCount alone scales the PRIMARY deployment, no new deployment
    ecs.update_service(cluster="c1", service="web", desiredCount=3)
    s = sim.wait(lambda: (s := describe(ecs, "web"))["runningCount"] == 3 and s, what="scale out")
    assert len(s["deployments"]) == 1 and s["deployments"][0]["id"] == new["id"] and s["deployments"][0]["desiredCount"] == 3
    # forceNewDeployment with the same task definition starts a new deployment
    ecs.update_service(cluster="c1", service="web", forceNewDeployment=True)
    deployments = describe(ecs, "web")["deployments"]
    assert len(deployments) == 2 and deployments[0]["id"] != new["id"] and deployments[0]["taskDefinition"] == v2


def update_to_bad(sim, bad_scenario, desired, rollback):
    """Service `web` completes on repo/web:good, then is updated to repo/web:bad (with `bad_scenario`)."""
    sim.call("PUT", "/_sim/scenarios", {":bad": bad_scenario})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    good, bad = register(ecs, "repo/web:good"), register(ecs, "repo/web:bad")
    service(sim, "web", good, desired=desired, circuit_breaker={"enable": True, "rollback": rollback})
    first = sim.wait(lambda: completed(ecs, "web"))["deployments"][0]
    ecs.update_service(cluster="c1", service="web", taskDefinition=bad)
    return ecs, good, bad, first


def test_crash_fails_and_rolls_back(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, good, bad, first = update_to_bad(
        sim, {"crash": True, "exit_code": 137, "crash_reason": "OutOfMemoryError"}, desired=2, rollback=True)
    failed_id = describe(ecs, "web")["deployments"][0]["id"]

    def rolled_back():
        s = describe(ecs, "web")
        return len(s["deployments"]) >= 2 and s["deployments"][0]["taskDefinition"] == good and s
    s = sim.wait(rolled_back, what="rollback")
    assert s["taskDefinition"] == good
    failed = next(d for d in s["deployments"] if d["id"] == failed_id)
    assert failed["status"] == "ACTIVE" and failed["rolloutState"] == "FAILED"
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert failed["failedTasks"] >= 3  # max(3, ceil(0.5 * 2))
    messages = [e["message"] for e in s["events"]]
    assert f"(service web) (deployment {failed_id}) deployment failed: tasks failed to start." in messages
    assert f"(service web) rolling back to deployment {first['id']}." in messages

    stopped = ecs.list_tasks(cluster="c1", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    crashed = [t for t in ecs.describe_tasks(cluster="c1", tasks=stopped)["tasks"] if t["startedBy"] == failed_id]
    assert crashed and all(t["stoppedReason"] == "Essential container in task exited" for t in crashed)
    assert all(t["containers"][0]["exitCode"] == 137 for t in crashed)
    assert all(t["containers"][0]["reason"] == "OutOfMemoryError" for t in crashed)

    s = sim.wait(lambda: completed(ecs, "web"), what="rollback deployment to complete")
    assert s["deployments"][0]["taskDefinition"] == good and s["deployments"][0]["id"] not in (first["id"], failed_id)
    types = [e["type"] for e in sim.call("GET", "/_sim/events")]
    assert "deployment_failed" in types and "rollback_started" in types


def test_a_task_that_crashes_soon_after_start_never_completes_a_deployment(sim):
    # At scale 60 a tick is 3 simulated seconds, so tasks that run 9 s before crashing are seen
    # RUNNING by about three ticks each: without a minimum running time they completed the
    # deployment every time, and the circuit breaker never tripped.
    ecs, good, _, _ = update_to_bad(sim, {"crash": True, "crash_after_seconds": 9}, desired=2, rollback=True)
    failed_id = describe(ecs, "web")["deployments"][0]["id"]
    s = sim.wait(lambda: (s := describe(ecs, "web"))["taskDefinition"] == good and s, what="rollback")
    assert f"(service web) (deployment {failed_id}) deployment completed." not in [e["message"] for e in s["events"]]


def test_crash_without_rollback_stays_failed(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs, _, bad, _ = update_to_bad(sim, {"crash": True}, desired=1, rollback=False)
    s = sim.wait(lambda: (s := describe(ecs, "web"))["deployments"][0]["rolloutState"] == "FAILED" and s)
    assert s["deployments"][0]["status"] == "PRIMARY" and s["taskDefinition"] == bad
    failed = s["deployments"][0]["failedTasks"]
    sim.wait(lambda: describe(ecs, "web")["deployments"][0]["failedTasks"] > failed + 2, what="retries")
    assert describe(ecs, "web")["deployments"][1]["runningCount"] == 1  # the old tasks keep serving


def tasks_alive(ecs):
    s = describe(ecs, "web")
    return sum(d["runningCount"] + d["pendingCount"] for d in s["deployments"])


def test_a_rollout_is_paced_by_maximum_and_minimum_healthy_percent(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    v1, v2 = register(ecs, "repo/web:v1"), register(ecs, "repo/web:v2")
    # 50..100%: never more than 2 tasks, at least 1 of them healthy; one task at a time.
    service(sim, "web", v1, desired=2, percents={"maximumPercent": 100, "minimumHealthyPercent": 50})
    sim.wait(lambda: completed(ecs, "web"), what="first deployment")
    ecs.update_service(cluster="c1", service="web", taskDefinition=v2)
    seen = []
    while not completed(ecs, "web"):
        seen.append(tasks_alive(ecs))
        time.sleep(0.01)
    assert max(seen) <= 2 and min(seen) >= 1, seen
    started = [e["message"] for e in describe(ecs, "web")["events"] if "has started" in e["message"]]
    assert len(started) >= 3, started  # 2 at creation, then the new tasks one by one


def test_the_circuit_breaker_threshold_and_its_reset_on_a_healthy_task():
    import types

    from sim.aws import ecs_rollouts as r
    from sim.aws.core import sim as state

    assert [r._threshold({}, n) for n in (1, 10, 1000)] == [3, 5, 200]  # BOUNDED_PERCENT 50
    assert r._threshold({"thresholdConfiguration": {"type": "UNBOUNDED_PERCENT", "value": 50}}, 1000) == 500
    assert r._threshold({"thresholdConfiguration": {"type": "COUNT", "value": 1}}, 1000) == 1
    state.now = 100.0
    healthy = types.SimpleNamespace(started_by="d1", live=True, last_status="RUNNING", sim_healthy_once=False,
                                    sim_running_at=50.0, targets=[])
    for reset, left in ((None, 0), (True, 0), (False, 2)):
        cb = {"enable": True} if reset is None else {"enable": True, "resetOnHealthyTask": reset}
        service = types.SimpleNamespace(deployment_configuration={"deploymentCircuitBreaker": cb},
                                        sim=r.ServiceSim(cb_failures={"d1": 2}))
        healthy.sim_healthy_once = False
        r._reset_on_healthy(service, {"id": "d1"}, [healthy])
        assert service.sim.cb_failures["d1"] == left, (reset, service.sim.cb_failures)


def test_a_count_threshold_trips_at_that_many_failures(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 300})
    sim.call("PUT", "/_sim/scenarios", {":bad": {"crash": True}})
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c1")
    good, bad = register(ecs, "repo/web:good"), register(ecs, "repo/web:bad")
    service(sim, "api", good, desired=2, circuit_breaker={
        "enable": True, "rollback": False, "thresholdConfiguration": {"type": "COUNT", "value": 12}})
    sim.wait(lambda: completed(ecs, "api"))
    ecs.update_service(cluster="c1", service="api", taskDefinition=bad)
    s = sim.wait(lambda: (s := describe(ecs, "api"))["deployments"][0]["rolloutState"] == "FAILED" and s, what="trip")
    assert s["deployments"][0]["failedTasks"] >= 12  # the default would have tripped at 3
