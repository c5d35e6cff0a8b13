"""The service deployments of rolling (ECS controller, ROLLING strategy) deployments.

AWS lists rolling deployments as service deployments too: the AWS CLI's own
describe-service-deployments example (tests/fixtures/aws/ecs) is one, with a
deploymentConfiguration of maximumPercent 200 and the circuit breaker MONITORING_COMPLETE, and
the API Reference's ServiceDeployment carries `deploymentCircuitBreaker` (a rolling-only
feature: "The deployment circuit breaker can only be used for services using the rolling
update (ECS) deployment type") and `rollback` ("the rollback options the service deployment
uses when the deployment fails").

So each deployment a rolling UpdateService (or CreateService) starts gets one record:
PENDING, IN_PROGRESS at the next tick, SUCCESSFUL when the deployment completes. When the
circuit breaker trips with rollback on, the *same* service deployment goes ROLLBACK_IN_PROGRESS,
its breaker TRIGGERED and `rollback` naming the revision it goes back to, then
ROLLBACK_SUCCESSFUL when that revision's deployment completes; its targetServiceRevision stays
the revision that failed. AWS does not document the status of a breaker failure without
rollback, nor of a rolling deployment replaced by a newer UpdateService; both are STOPPED here
(the reading that claims nothing succeeded). Records become visible to the list after
VISIBILITY_SECONDS, as ECS-native ones do. Running and pending counts are the counts at the
last state change (not refreshed every tick)."""
import random

from .core import sim


def _store(backend) -> dict:
    from .ecs_native import _store as native_store  # one store: ListServiceDeployments reads it
    return native_store(backend)


def _backend_of(service):
    from .ecs_rollouts import all_backends
    return next((b for b in all_backends() if any(s is service for s in b.services.values())), None)


def _records(service) -> dict:
    """ECS deployment id -> service deployment ARN, for this service."""
    return service.sim.rolling_records


def _revision(store: dict, service, td: str, count: int) -> dict:
    from .ecs_native import _stamp
    prefix = f"arn:aws:ecs:{service.region_name}:{service._account_id}"
    arn = f"{prefix}:service-revision/{service.cluster_name}/{service.name}/{random.randint(10**18, 10**19 - 1)}"
    store["revisions"][arn] = {"serviceRevisionArn": arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
                               "taskDefinition": td, "createdAt": _stamp(), "launchType": service.launch_type}
    return {"arn": arn, "requestedTaskCount": count, "runningTaskCount": 0, "pendingTaskCount": 0}


def applies(service) -> bool:
    from .ecs_native import NATIVE, strategy
    controller = (getattr(service, "deployment_controller", None) or {}).get("type", "ECS")
    return controller == "ECS" and strategy(service) not in NATIVE


def started(service, dep: dict, previous: dict | None) -> None:
    """A rolling deployment started: its service deployment, PENDING; the one it replaces, if
    still running, STOPPED."""
    from .ecs_native import VISIBILITY_SECONDS, _id, _stamp
    backend = _backend_of(service)
    if backend is None or not applies(service):
        return
    store, records = _store(backend), _records(service)
    if previous is not None:
        _end(store, records.get(previous["id"]), "STOPPED", "Replaced by a newer service deployment.")
    prefix = f"arn:aws:ecs:{service.region_name}:{service._account_id}"
    arn = f"{prefix}:service-deployment/{service.cluster_name}/{service.name}/{_id()}"
    source = [_revision(store, service, previous["taskDefinition"], service.desired_count)] if previous else []
    for s in source:
        s["runningTaskCount"] = previous.get("runningCount", 0)
    now = _stamp()
    store["deployments"][arn] = {
        "serviceDeploymentArn": arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
        "createdAt": now, "startedAt": now, "updatedAt": now, "status": "PENDING",
        "sourceServiceRevisions": source,
        "targetServiceRevision": _revision(store, service, dep["taskDefinition"], service.desired_count),
        "deploymentConfiguration": dict(getattr(service, "deployment_configuration", None) or {}),
        "lifecycleHookDetails": [],
        "sim_visible_at": sim.now + VISIBILITY_SECONDS, "sim_rolling": True,
    }
    records[dep["id"]] = arn


def _end(store: dict, arn: str | None, status: str, reason: str | None = None) -> None:
    from .ecs_native import _finish
    sd = store["deployments"].get(arn) if arn else None
    if sd is None or sd["status"] not in ("PENDING", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS"):
        return
    if reason:
        sd["statusReason"] = reason
    _finish(sd, status)


def tick(backend, service, primary: dict) -> None:
    """PENDING becomes IN_PROGRESS once ECS works on it."""
    arn = _records(service).get(primary["id"])
    sd = _store(backend)["deployments"].get(arn) if arn else None
    if sd is not None and sd["status"] == "PENDING":
        sd["status"] = "IN_PROGRESS"


def completed(backend, service, dep: dict) -> None:
    """The deployment `dep` completed: its record SUCCESSFUL, or, when it was a breaker's
    rollback, the failed deployment's record ROLLBACK_SUCCESSFUL."""
    store = _store(backend)
    arn = _records(service).get(dep["id"])
    sd = store["deployments"].get(arn) if arn else None
    if sd is None:
        return
    if sd["status"] != "ROLLBACK_IN_PROGRESS":
        sd["targetServiceRevision"].update(runningTaskCount=dep.get("runningCount", 0), pendingTaskCount=0)
    _end(store, arn, "ROLLBACK_SUCCESSFUL" if sd["status"] == "ROLLBACK_IN_PROGRESS" else "SUCCESSFUL")


def failed(service, failed: dict, rollback_to: dict | None, reason: str, trigger: tuple) -> None:
    """The circuit breaker or a deployment alarm (`trigger`: ("circuit_breaker", None) or
    ("alarms", name)) failed `failed`; with rollback, `rollback_to` is the new deployment on the
    last completed revision, and it belongs to the same service deployment."""
    from .ecs_native import _stamp
    backend = _backend_of(service)
    if backend is None:
        return
    store, records = _store(backend), _records(service)
    arn = records.get(failed["id"])
    sd = store["deployments"].get(arn) if arn else None
    if sd is None:
        return
    sd["sim_triggered"] = trigger
    sd["statusReason"], sd["updatedAt"] = reason, _stamp()
    if rollback_to is None:
        _end(store, arn, "STOPPED", reason)
        return
    revision = _revision(store, service, rollback_to["taskDefinition"], service.desired_count)
    sd["status"] = "ROLLBACK_IN_PROGRESS"
    sd["rollback"] = {"reason": reason, "startedAt": _stamp(), "serviceRevisionArn": revision["arn"]}
    records[rollback_to["id"]] = arn
