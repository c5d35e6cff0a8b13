"""The service-deployment reads and actions of ECS-native deployments (ecs_native): what
DescribeServiceDeployments, ListServiceDeployments and DescribeServiceRevisions answer, and what
StopServiceDeployment and ContinueServiceDeployment do ("Stopping Amazon ECS service
deployments", "Continuing service deployments")."""
import math

from moto.ecs.exceptions import InvalidParameterException

from . import ecs_rollouts as r
from .core import sim
from .ecs_native import _rollback, _store

def public(sd: dict) -> dict:
    out = {k: v for k, v in sd.items() if not k.startswith("sim_")}
    out["lifecycleHookDetails"] = [{k: v for k, v in h.items() if not k.startswith("sim_")}
                                   for h in sd["lifecycleHookDetails"]]
    if not out["lifecycleHookDetails"]:
        del out["lifecycleHookDetails"]
    _watchers(sd, out)
    return out


ENDED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def _watchers(sd: dict, out: dict) -> None:
    """What AWS answers about the deployment's circuit breaker and alarms (ServiceDeployment's
    deploymentCircuitBreaker and alarms; statuses TRIGGERED, MONITORING, MONITORING_COMPLETE,
    DISABLED), with the configuration's defaults filled in as in the AWS CLI's
    describe-service-deployments example (tests/fixtures/aws/ecs)."""
    config = out["deploymentConfiguration"] = dict(out.get("deploymentConfiguration") or {})
    breaker = config.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    alarms = config.setdefault("alarms", {"alarmNames": [], "enable": False, "rollback": False})
    ended = sd["status"] in ENDED
    kind, alarm = sd.get("sim_triggered") or (None, None)

    def status(enabled, triggered):
        if not enabled:
            return "DISABLED"
        if triggered:
            return "TRIGGERED"
        return "MONITORING_COMPLETE" if ended else "MONITORING"

    # ECS's documented failure threshold: half the desired count, at least 3 and at most 200.
    desired = sd["targetServiceRevision"].get("requestedTaskCount") or 0
    threshold = min(200, max(3, math.ceil(0.5 * desired)))
    tripped = kind == "circuit_breaker"
    out["deploymentCircuitBreaker"] = {"status": status(breaker.get("enable"), tripped),
                                       "failureCount": threshold if tripped else 0, "threshold": threshold}
    out["alarms"] = {"status": status(alarms.get("enable"), kind == "alarms")}
    if alarms.get("enable"):
        out["alarms"]["alarmNames"] = list(alarms.get("alarmNames") or [])
        out["alarms"]["triggeredAlarmNames"] = [alarm] if kind == "alarms" else []


def find(arn: str) -> dict | None:
    for backend in r.all_backends():
        sd = _store(backend)["deployments"].get(arn)
        if sd is not None:
            return sd
    return None


def list_for(service_arn: str, statuses: list[str]) -> list[dict]:
    out = []
    for backend in r.all_backends():
        for sd in _store(backend)["deployments"].values():
            if sd["serviceArn"] == service_arn and sim.now >= sd["sim_visible_at"] \
                    and (not statuses or sd["status"] in statuses):
                out.append(sd)
    return sorted(out, key=lambda sd: sd["createdAt"], reverse=True)


def revision(arn: str) -> dict | None:
    for backend in r.all_backends():
        rev = _store(backend)["revisions"].get(arn)
        if rev is not None:
            return rev
    return None


def stop(sd: dict, stop_type: str) -> None:
    """StopServiceDeployment: "The valid values are ROLLBACK" (API Reference), so ABORT is refused."""
    if stop_type != "ROLLBACK":
        raise InvalidParameterException("stopType: the valid values are ROLLBACK.")
    if sd.get("sim_rolling"):  # not modelled: refused rather than answered wrongly
        raise InvalidParameterException("The simulator does not stop rolling service deployments; use UpdateService.")
    if sd["status"] in ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        return
    if sd["status"] not in ("PENDING", "IN_PROGRESS"):
        raise InvalidParameterException(f"Service deployment {sd['serviceDeploymentArn']} is {sd['status']}; it can't be stopped.")
    _rollback(sd, "Stopped by StopServiceDeployment with ROLLBACK.")


def continue_hook(sd: dict, hook_id: str, action: str) -> None:
    hook = next((h for h in sd["lifecycleHookDetails"] if h["hookId"] == hook_id), None)
    if hook is None or hook["status"] != "AWAITING_ACTION" or sd["status"] != "IN_PROGRESS":
        raise InvalidParameterException(f"Hook {hook_id} is not awaiting action in an IN_PROGRESS service deployment.")
    hook["status"] = "SUCCEEDED"
    sim.record("hook_continued", arn=sd["serviceDeploymentArn"], hook=hook_id, action=action)
    if action == "ROLLBACK":
        _rollback(sd, f"Rolled back by ContinueServiceDeployment on hook {hook_id}.")
