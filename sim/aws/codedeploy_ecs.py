"""CodeDeploy blue/green deployments of ECS services (deployment controller CODE_DEPLOY), on
simulated time.

moto keeps applications, deployment groups and deployments as records that never progress.
Here a CreateDeployment to a deployment group with `ecsServices` runs the ECS deployment as the
CodeDeploy User Guide describes it ("What happens during an Amazon ECS deployment", "AppSpec
'hooks' section for an Amazon ECS deployment", "Deployment configurations on an Amazon ECS
compute platform"):

  the AppSpec (revisionType AppSpecContent) names the task definition and the container and
  port the load balancer sends to; lifecycle events of the ECS target run in order:
  BeforeInstall, Install (a replacement task set at the service's desired count, in the
  target group of the pair that production does not use), AfterInstall, AllowTestTraffic
  (the test listener to the replacement), AfterAllowTestTraffic, BeforeAllowTraffic,
  AllowTraffic (the production listener shifted by the deployment configuration:
  CodeDeployDefault.ECSAllAtOnce, ECSLinear10PercentEvery1Minutes / 3Minutes,
  ECSCanary10Percent5Minutes / 15Minutes), AfterAllowTraffic; then the termination wait
  (terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes,
  instanceTerminationWaitTimeStarted true) before the original task set stops and the
  deployment Succeeds. Each event lasts at least STAGE_SECONDS (undocumented; not instant).

Stopping: StopDeployment, or a deployment-group alarm in ALARM with auto-rollback on
DEPLOYMENT_STOP_ON_ALARM (alarms are watched until the deployment succeeds, the termination
wait included), leaves the deployment Stopped (errorInformation MANUAL_STOP or ALARM_ACTIVE)
and, with rollback, starts a rollback deployment (creator codeDeployRollback) that puts both
listeners back on the original target group at once, stops the replacement tasks and
Succeeds once they have drained; the stopped deployment's rollbackInfo names it.

UpdateService with a new task definition on a CODE_DEPLOY service is refused, as in ECS
("Use AWS CodeDeploy to trigger a new deployment"). AppSpec hooks (Lambda functions) are
refused: the simulator runs no Lambda. Custom deployment configurations are not simulated.
"""
import json
import uuid
from datetime import datetime, timezone

from moto.cloudwatch import models as cw_models
from moto.codedeploy import models as cd_models
from moto.core.exceptions import JsonRESTError
from moto.ecs import models as ecs_models
from moto.elbv2 import models as elbv2_models

from . import ecs_rollouts as r
from .core import sim

STAGE_SECONDS = 5.0
INSTALL_TIMEOUT = 3600.0  # sim seconds before a replacement task set that never gets healthy fails
EVENTS = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
# name -> (first step %, minutes between steps or None for all at once, kind)
CONFIGS = {
    "CodeDeployDefault.ECSAllAtOnce": (100.0, 0, "all"),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": (10.0, 1, "linear"),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": (10.0, 3, "linear"),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": (10.0, 5, "canary"),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": (10.0, 15, "canary"),
}


class InvalidConfig(JsonRESTError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def _stamp() -> float:
    return datetime.now(timezone.utc).timestamp()


def _ecs_service(account: str, region: str, cluster: str, name: str):
    backend = ecs_models.ecs_backends[account][region]
    return backend, backend.services.get(f"{cluster}:{name}")


def _listener(account: str, region: str, arn: str):
    for lb in elbv2_models.elbv2_backends[account][region].load_balancers.values():
        if arn in lb.listeners:
            return lb.listeners[arn]
    return None


def _weights_of(listener) -> dict[str, float]:
    for action in listener.default_actions:
        if action.type == "forward":
            groups = (action.data.get("ForwardConfig") or {}).get("TargetGroups")
            if groups:
                return {g["TargetGroupArn"]: float(g.get("Weight", 1)) for g in groups}
            if action.data.get("TargetGroupArn"):
                return {action.data["TargetGroupArn"]: 1.0}
    return {}


def _set_listener(account: str, region: str, arn: str | None, weights: dict[str, int]) -> None:
    """CodeDeploy (with the deployment group's service role) rewrites the listener's forward."""
    listener = _listener(account, region, arn) if arn else None
    if listener is None:
        return
    for action in listener.default_actions:
        if action.type == "forward":
            config = dict(action.data.get("ForwardConfig") or {})
            config["TargetGroups"] = [{"TargetGroupArn": tg, "Weight": w} for tg, w in weights.items()]
            config.setdefault("TargetGroupStickinessConfig", {"Enabled": False})
            action.data["ForwardConfig"] = config
            action.data.pop("TargetGroupArn", None)
            action.__dict__.pop("TargetGroupArn", None)
            action.__dict__.update(action.data)  # moto serializes the action's attributes
            sim.record("weights_changed", load_balancer=listener.load_balancer_arn, listener=arn,
                       weights={k: float(v) for k, v in weights.items()})
            return


def _tg_arn(account: str, region: str, name: str) -> str | None:
    for tg in elbv2_models.elbv2_backends[account][region].target_groups.values():
        if tg.name == name:
            return tg.arn
    return None


# --- CreateDeployment ----------------------------------------------------------------------
_orig_create_deployment = cd_models.CodeDeployBackend.create_deployment


def _appspec(revision: dict) -> dict:
    if (revision or {}).get("revisionType") != "AppSpecContent":
        raise InvalidConfig("InvalidRevisionException", "An ECS deployment needs revisionType AppSpecContent.")
    content = ((revision.get("appSpecContent") or {}).get("content")) or ""
    try:
        spec = json.loads(content)
    except ValueError:
        raise InvalidConfig("InvalidRevisionException", "The AppSpec content is not valid JSON.")
    if spec.get("Hooks"):
        raise InvalidConfig("InvalidRevisionException", "The simulator runs no Lambda: AppSpec hooks are not simulated.")
    try:
        props = spec["Resources"][0]["TargetService"]["Properties"]
        lb = props["LoadBalancerInfo"]
        return {"taskDefinition": props["TaskDefinition"], "container": lb["ContainerName"], "port": int(lb["ContainerPort"])}
    except (KeyError, IndexError, TypeError, ValueError):
        raise InvalidConfig("InvalidRevisionException",
                            "The AppSpec must name Resources[0].TargetService.Properties.TaskDefinition and LoadBalancerInfo.")


def _create_deployment(self, application_name, deployment_group_name, revision, deployment_config_name=None, **kwargs):
    group = self.deployment_groups.get(application_name, {}).get(deployment_group_name)
    ecs_target = group is not None and group.ecs_services
    if ecs_target:
        spec = _appspec(revision)
        name = deployment_config_name or group.deployment_config_name
        if name not in CONFIGS:
            raise InvalidConfig("DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}")
        for d in self.deployments.values():
            if d.deployment_group is group and d.status in ("Created", "Queued", "InProgress", "Ready"):
                raise InvalidConfig("DeploymentLimitExceededException",
                                    f"The Deployment Group '{deployment_group_name}' already has an active Deployment '{d.deployment_id}'")
        svc = group.ecs_services[0]
        backend, service = _ecs_service(self.account_id, self.region_name, svc["clusterName"], svc["serviceName"])
        if service is None:
            raise InvalidConfig("ECSServiceMappingLimitExceededException", "The ECS service of the deployment group does not exist.")
        td = backend.describe_task_definition(spec["taskDefinition"])
        if not any(c.get("name") == spec["container"] for c in td.container_definitions):
            raise InvalidConfig("InvalidRevisionException", f"The container {spec['container']} is not in {td.arn}.")
    deployment_id = _orig_create_deployment(self, application_name, deployment_group_name, revision,
                                            deployment_config_name, **kwargs)
    if ecs_target:
        d = self.deployments[deployment_id]
        d.deployment_id = "d-" + uuid.uuid4().hex[:9].upper()
        self.deployments[d.deployment_id] = self.deployments.pop(deployment_id)
        d.deployment_config_name = name
        d.status = "Created"
        info = group.load_balancer_info.get("targetGroupPairInfoList", [{}])[0]
        pair = [_tg_arn(self.account_id, self.region_name, t["name"]) for t in info.get("targetGroups", [])]
        prod = (info.get("prodTrafficRoute") or {}).get("listenerArns", [None])[0]
        test = (info.get("testTrafficRoute") or {}).get("listenerArns", [None])[0]
        listener = _listener(self.account_id, self.region_name, prod)
        weights = _weights_of(listener) if listener else {}
        blue = max(pair, key=lambda tg: weights.get(tg, 0.0))
        green = next(tg for tg in pair if tg != blue)
        d.sim = {"account": self.account_id, "region": self.region_name, "service": service, "ecs": backend,
                 "td": td.arn, "blue": blue, "green": green, "prod": prod, "test": test, "event": 0,
                 "at": sim.now, "events": [{"lifecycleEventName": e, "status": "Pending"} for e in EVENTS],
                 "weight": 0.0, "weight_at": sim.now, "dep": None, "wait_from": None, "group": group, "backend": self}
        service.sim.codedeploy_current = d
        sim.record("codedeploy_started", deployment=d.deployment_id, task_definition=td.arn)
        return d.deployment_id
    return deployment_id


# --- the lifecycle -------------------------------------------------------------------------
def _green_tasks(d) -> list:
    s = d.sim
    return [t for t in r._tasks(s["ecs"], s["service"]) if s["dep"] and t.started_by == s["dep"]["id"]]


def _alarm(d) -> str | None:
    group = d.sim["group"]
    cfg = group.alarm_configuration or {}
    rollback = group.auto_rollback_configuration or {}
    if not cfg.get("enabled") or not rollback.get("enabled") or "DEPLOYMENT_STOP_ON_ALARM" not in (rollback.get("events") or []):
        return None
    cw = cw_models.cloudwatch_backends[d.sim["account"]][d.sim["region"]]
    for a in cfg.get("alarms") or []:
        alarm = cw.alarms.get(a.get("name"))
        if alarm is not None and alarm.state_value == "ALARM":
            return a.get("name")
    return None


def _event(d, i: int, status: str) -> None:
    e = d.sim["events"][i]
    if status == "InProgress":
        e["startTime"] = _stamp()
    else:
        e["endTime"] = _stamp()
    e["status"] = status


def _target_weight(d) -> float:
    """The production weight of the replacement now, in AllowTraffic: one step at a time, each
    held for its interval from when it was set (a slow tick never skips a step)."""
    first, minutes, kind = CONFIGS[d.deployment_config_name]
    weight, held = d.sim["weight"], sim.now - d.sim["weight_at"]
    if kind == "all":
        return 100.0
    if weight == 0.0:
        return first
    if held < 60.0 * minutes:
        return weight
    return 100.0 if kind == "canary" else min(100.0, weight + first)


def _shift(d, weight: float) -> None:
    s = d.sim
    if weight != s["weight"]:
        s["weight"], s["weight_at"] = weight, sim.now
        w = int(round(weight))
        _set_listener(s["account"], s["region"], s["prod"], {s["blue"]: 100 - w, s["green"]: w})


def stop(d, code: str, message: str, rollback: bool) -> None:
    """The deployment stops; with rollback, a rollback deployment puts traffic back."""
    d.status, d.complete_time = "Stopped", cd_models.utcnow()
    d.sim["error"] = {"code": code, "message": message}
    for i, e in enumerate(d.sim["events"]):
        if e["status"] == "InProgress":
            _event(d, i, "Failed")
        elif e["status"] == "Pending":
            e["status"] = "Skipped"
    sim.record("codedeploy_stopped", deployment=d.deployment_id, code=code)
    if not rollback:
        return
    backend = d.sim["backend"]
    rb = cd_models.DeploymentInfo(d.application, d.deployment_group, d.revision, d.deployment_config_name,
                                  f"Rollback of {d.deployment_id}", None, None, None, None, None, None,
                                  "codeDeployRollback")
    rb.deployment_id = "d-" + uuid.uuid4().hex[:9].upper()
    rb.status, rb.start_time = "InProgress", cd_models.utcnow()
    rb.sim = {**d.sim, "rolling_back": d, "events": []}
    backend.deployments[rb.deployment_id] = rb
    d.sim["rollback"] = {"rollbackDeploymentId": rb.deployment_id,
                         "rollbackMessage": f"Deployment {d.deployment_id} was stopped: {message} Rolled back by {rb.deployment_id}."}
    s = d.sim
    _set_listener(s["account"], s["region"], s["prod"], {s["blue"]: 100, s["green"]: 0})
    _set_listener(s["account"], s["region"], s["test"], {s["blue"]: 100, s["green"]: 0})
    s["weight"] = 0.0
    for t in _green_tasks(d):
        if t.live:
            r._stop(s["service"], t, f"Scaling activity initiated by (deployment {t.started_by})")
    s["service"].sim.codedeploy_current = rb
    sim.record("codedeploy_rollback", deployment=rb.deployment_id, rolls_back=d.deployment_id, reason=message)


def _tick_rollback(rb) -> None:
    if all(t.sim_stopped_at is not None for t in _green_tasks(rb.sim["rolling_back"])):
        rb.status, rb.complete_time = "Succeeded", cd_models.utcnow()
        rb.sim["service"].sim.codedeploy_current = None
        sim.record("codedeploy_finished", deployment=rb.deployment_id, status="Succeeded", rollback=True)


def _tick_forward(d) -> None:
    s = d.sim
    if d.status == "Created":
        d.status, d.start_time = "InProgress", cd_models.utcnow()
        _event(d, 0, "InProgress")
        s["at"] = sim.now
        return
    firing = _alarm(d)
    if firing:
        stop(d, "ALARM_ACTIVE", f"One or more alarms have been activated: {firing}.", rollback=True)
        return
    service, backend = s["service"], s["ecs"]
    if s["dep"] is not None:  # keep the replacement task set at the service's count
        live = [t for t in _green_tasks(d) if t.live]
        if len(live) < service.desired_count and s["wait_from"] is None:
            r._start_tasks(backend, service, s["dep"], service.desired_count - len(live), target_groups=[s["green"]])
    if s["wait_from"] is not None:
        _tick_termination(d)
        return
    i = s["event"]
    name = EVENTS[i]
    if sim.now < s["at"] + STAGE_SECONDS:
        return
    if name == "Install":
        if s["dep"] is None:
            s["dep"] = {"id": f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", "taskDefinition": s["td"],
                        "status": "ACTIVE", "desiredCount": service.desired_count}
            return
        green = [t for t in _green_tasks(d) if t.live and t.last_status == "RUNNING"]
        if len(green) < service.desired_count or not all(map(r._stable, green)):
            if sim.now > s["at"] + INSTALL_TIMEOUT:
                stop(d, "ECS_UPDATE_ERROR", "The replacement task set did not become healthy.",
                     rollback=bool((s["group"].auto_rollback_configuration or {}).get("enabled")))
            return
    elif name == "AllowTestTraffic" and s["test"]:
        _set_listener(s["account"], s["region"], s["test"], {s["blue"]: 0, s["green"]: 100})
    elif name == "AllowTraffic":
        _shift(d, _target_weight(d))
        if s["weight"] < 100.0:
            return
    _event(d, i, "Succeeded" if name != "AllowTestTraffic" or s["test"] else "Skipped")
    if i + 1 < len(EVENTS):
        s["event"], s["at"] = i + 1, sim.now
        _event(d, i + 1, "InProgress")
    else:
        s["wait_from"] = sim.now
        d.instance_termination_wait_time_started = True


def _tick_termination(d) -> None:
    s = d.sim
    success = (s["group"].blue_green_deployment_configuration or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    wait = 60.0 * int(success.get("terminationWaitTimeInMinutes") or 0)
    if sim.now < s["wait_from"] + wait:
        return
    service = s["service"]
    blue = [t for t in r._tasks(s["ecs"], service) if t.started_by != s["dep"]["id"]]
    for t in blue:
        if t.live:
            r._stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
    if any(t.sim_stopped_at is None for t in blue):
        return
    dep = r._new_deployment(service, s["td"])  # the replacement is the service's primary now
    dep["id"] = s["dep"]["id"]
    dep.update(rolloutState="COMPLETED", rolloutStateReason="Replaced by CodeDeploy.")
    del service.deployments[1:]
    service.task_definition = s["td"]
    service.sim.native_active_tg = s["green"]
    service.sim.codedeploy_current = None
    d.status, d.complete_time = "Succeeded", cd_models.utcnow()
    sim.record("codedeploy_finished", deployment=d.deployment_id, status="Succeeded")


def tick_service(backend, service) -> bool:
    """Advances the service's CodeDeploy deployment, if one runs; False when none does."""
    d = getattr(service.sim, "codedeploy_current", None)
    if d is None:
        return False
    for task in r._tasks(backend, service):
        r._advance_task(service, task)
    if "rolling_back" in d.sim:
        _tick_rollback(d)
    elif d.status in ("Created", "InProgress"):
        _tick_forward(d)
    else:
        service.sim.codedeploy_current = None
    r._update_counts(backend, service)
    return True


def install() -> None:
    from . import codedeploy_api  # the answers build on this module

    cd_models.CodeDeployBackend.create_deployment = _create_deployment
    codedeploy_api.install()
