"""What CodeDeploy answers about ECS deployments (codedeploy_ecs): GetDeployment's error and
rollback information, the deployment group's alarm configuration, StopDeployment,
List/BatchGetDeploymentTargets (the ECS target's lifecycle events and task sets) and
GetDeploymentConfig for the predefined ECS configs."""
import json

from moto.codedeploy import responses as cd_responses
from moto.codedeploy.exceptions import DeploymentDoesNotExistException

from .codedeploy_ecs import CONFIGS, InvalidConfig, _green_tasks, _stamp, stop

_orig_deployment_info = cd_responses._deployment_info
_orig_group_info = cd_responses._deployment_group_info


def _deployment_info(d) -> dict:
    out = _orig_deployment_info(d)
    s = getattr(d, "sim", None)
    out["errorInformation"] = (s or {}).get("error") or {}
    out["rollbackInfo"] = (s or {}).get("rollback") or {}
    # AWS answers this flag for every deployment (false unless CreateDeployment set it), as in
    # the AWS CLI's get-deployment example (tests/fixtures/aws/codedeploy).
    out["ignoreApplicationStopFailures"] = bool(out.get("ignoreApplicationStopFailures"))
    if s is not None:
        out["deploymentOverview"] = {"Pending": 0, "InProgress": int(d.status == "InProgress"),
                                     "Succeeded": int(d.status == "Succeeded"), "Failed": int(d.status in ("Failed", "Stopped")),
                                     "Skipped": 0, "Ready": 0}
    return {k: v for k, v in out.items() if v is not None}


def _group_info(group) -> dict:
    out = _orig_group_info(group)
    out["alarmConfiguration"] = group.alarm_configuration or {}
    return {k: v for k, v in out.items() if v is not None}


def _find(self, deployment_id: str):
    d = self.codedeploy_backend.deployments.get(deployment_id)
    if d is None:
        raise DeploymentDoesNotExistException(f"The deployment {deployment_id} could not be found.")
    return d


def _stop_deployment(self):
    d = _find(self, self._get_param("deploymentId"))
    if d.status not in ("Created", "Queued", "InProgress", "Ready"):
        raise InvalidConfig("DeploymentAlreadyCompletedException", f"Deployment {d.deployment_id} has already completed.")
    rollback = bool(self._get_param("autoRollbackEnabled"))
    stop(d, "MANUAL_STOP", "The deployment was stopped by StopDeployment.", rollback=rollback)
    return json.dumps({"status": "Succeeded", "statusMessage": "Deployment stopped."})


def _target(d) -> dict:
    s = d.sim
    service = s["service"]
    green = [t for t in _green_tasks(d) if t.live]

    def task_set(label, tg, weight, running, status):
        return {"identifer": f"ecs-svc/{label.lower()}", "desiredCount": service.desired_count, "pendingCount": 0,
                "runningCount": running, "status": status, "trafficWeight": weight,
                "targetGroup": {"name": tg.rsplit("/", 2)[-2] if tg else ""}, "taskSetLabel": label}

    return {"deploymentTargetType": "ECSTarget", "ecsTarget": {
        "deploymentId": d.deployment_id, "targetId": f"{service.cluster_name}:{service.name}",
        "targetArn": service.arn, "lastUpdatedAt": _stamp(),
        "lifecycleEvents": s["events"],
        "status": {"Created": "Pending", "InProgress": "InProgress", "Succeeded": "Succeeded"}.get(d.status, "Failed"),
        "taskSetsInfo": [task_set("Blue", s["blue"], 100.0 - s["weight"], service.running_count - len(green), "PRIMARY"),
                         task_set("Green", s["green"], s["weight"], len(green), "ACTIVE")]}}


def _list_deployment_targets(self):
    d = _find(self, self._get_param("deploymentId"))
    ids = [] if getattr(d, "sim", None) is None else [_target(d)["ecsTarget"]["targetId"]]
    return json.dumps({"targetIds": ids})


def _batch_get_deployment_targets(self):
    d = _find(self, self._get_param("deploymentId"))
    wanted = self._get_param("targetIds") or []
    targets = [] if getattr(d, "sim", None) is None else [_target(d)]
    return json.dumps({"deploymentTargets": [t for t in targets if t["ecsTarget"]["targetId"] in wanted]})


def _get_deployment_config(self):
    name = self._get_param("deploymentConfigName")
    if name not in CONFIGS:
        raise InvalidConfig("DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}")
    first, minutes, kind = CONFIGS[name]
    routing = {"type": "AllAtOnce"} if kind == "all" else (
        {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": int(first), "canaryInterval": minutes}}
        if kind == "canary" else
        {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": int(first), "linearInterval": minutes}})
    return json.dumps({"deploymentConfigInfo": {"deploymentConfigName": name, "computePlatform": "ECS",
                                                "trafficRoutingConfig": routing}})


def install() -> None:
    cd_responses._deployment_info = _deployment_info
    cd_responses._deployment_group_info = _group_info
    cd_responses.CodeDeployResponse.stop_deployment = _stop_deployment
    cd_responses.CodeDeployResponse.list_deployment_targets = _list_deployment_targets
    cd_responses.CodeDeployResponse.batch_get_deployment_targets = _batch_get_deployment_targets
    cd_responses.CodeDeployResponse.get_deployment_config = _get_deployment_config
