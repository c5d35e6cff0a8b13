"""ECS's own BLUE_GREEN, LINEAR and CANARY deployments (deploymentConfiguration.strategy), on
simulated time.

A service on one of these strategies has, on each load balancer, an `advancedConfiguration`:
the alternate target group, the production listener rule and optionally a test listener rule
(ECS Developer Guide, "Amazon ECS blue/green deployments" and "Required resources"). An
UpdateService with a new task definition starts a *service deployment* that walks the
lifecycle stages of "Amazon ECS blue/green service deployments workflow":

  RECONCILE_SERVICE -> PRE_SCALE_UP -> SCALE_UP (green tasks start in the target group that
  serves no production traffic, at the full desired count) -> POST_SCALE_UP ->
  TEST_TRAFFIC_SHIFT (the test rule forwards to green) -> POST_TEST_TRAFFIC_SHIFT ->
  PRODUCTION_TRAFFIC_SHIFT (the production rule's weights move: BLUE_GREEN all at once,
  CANARY canaryPercent for canaryBakeTimeInMinutes then the rest, LINEAR stepPercent every
  stepBakeTimeInMinutes) -> POST_PRODUCTION_TRAFFIC_SHIFT -> BAKE_TIME (bakeTimeInMinutes,
  blue still running) -> CLEAN_UP (blue's tasks stop) -> SUCCESSFUL.

Each stage lasts at least STAGE_SECONDS: ECS's stage transitions are not instant, and how long
they take is not documented, so we take a pause rather than none.

PAUSE lifecycle hooks ("Pause hooks for Amazon ECS service deployments"): a stage with a hook
holds the deployment until ContinueServiceDeployment names the hook (CONTINUE or ROLLBACK) or
its timeout passes (then its timeoutConfiguration.action; ROLLBACK when none is given, the less
forgiving reading). AWS_LAMBDA hooks are refused: the simulator runs no Lambda.

Rollback ("Stopping Amazon ECS service deployments"; deployment alarms; the circuit breaker;
a hook's ROLLBACK): ROLLBACK_REQUESTED, then ROLLBACK_IN_PROGRESS with both rules back on
blue at once, green's tasks stopped and drained, then ROLLBACK_SUCCESSFUL. Deployment alarms
(deploymentConfiguration.alarms with enable and rollback) are watched from the start of the
deployment to the end of its bake, whether anyone is watching the deployment or not.

A second UpdateService while a service deployment is in progress is refused (AWS's behaviour
there is not documented for these strategies; refusing is the less forgiving reading: the
caller must stop the first one). A new service deployment is invisible to
ListServiceDeployments for VISIBILITY_SECONDS (eventual consistency, as RunTask's tasks).
"""
import random
import string
from datetime import datetime, timezone

from moto.cloudwatch import models as cw_models
from moto.ecs.exceptions import InvalidParameterException
from moto.elbv2 import models as elbv2_models

from . import elb_health, ecs_rollouts as r
from .core import sim

NATIVE = ("BLUE_GREEN", "LINEAR", "CANARY")
STAGE_SECONDS = 5.0
VISIBILITY_SECONDS = 5.0
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440  # timeoutInMinutes' documented default (24 h)
ORDER = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
         "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
         "CLEAN_UP"]
ACTIVE = ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")
WATCHED_BY_ALARMS = ORDER[:ORDER.index("CLEAN_UP")]


def strategy_of(config: dict) -> str:
    return (config.get("strategy") or "ROLLING").upper()


def strategy(service) -> str:
    return strategy_of(getattr(service, "deployment_configuration", None) or {})


def _stamp() -> float:
    return datetime.now(timezone.utc).timestamp()


def _id() -> str:
    return "".join(random.choice(string.ascii_letters + string.digits + "_-") for _ in range(21))


def _store(backend) -> dict:
    """arn -> service deployment, and arn -> service revision, per backend."""
    return backend.__dict__.setdefault("sim_native", {"deployments": {}, "revisions": {}})


def validate(config: dict, load_balancers: list) -> None:
    """What CreateService/UpdateService refuse for a native strategy, before any change."""
    kind = (config.get("strategy") or "ROLLING").upper()
    if kind not in NATIVE:
        return
    if not load_balancers:
        raise InvalidParameterException(
            f"A service with deployment strategy {kind} needs a load balancer with an advancedConfiguration.")
    for lb in load_balancers:
        adv = lb.get("advancedConfiguration") or {}
        for key in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not adv.get(key):
                raise InvalidParameterException(
                    f"advancedConfiguration.{key} is required for a service with deployment strategy {kind}.")
    if kind == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        # "You must provide this parameter when you use the BLUE_GREEN deployment strategy."
        raise InvalidParameterException("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.")
    canary, linear = config.get("canaryConfiguration") or {}, config.get("linearConfiguration") or {}
    if "canaryPercent" in canary and not 0.1 <= float(canary["canaryPercent"]) <= 100.0:
        raise InvalidParameterException("canaryConfiguration.canaryPercent must be between 0.1 and 100.")
    if "stepPercent" in linear and not 3.0 <= float(linear["stepPercent"]) <= 100.0:
        raise InvalidParameterException("linearConfiguration.stepPercent must be between 3 and 100.")
    for key, conf in (("canaryBakeTimeInMinutes", canary), ("stepBakeTimeInMinutes", linear), ("bakeTimeInMinutes", config)):
        if key in conf and not 0 <= int(conf[key]) <= 1440:
            raise InvalidParameterException(f"{key} must be between 0 and 1440.")
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("targetType", "AWS_LAMBDA") != "PAUSE":
            raise InvalidParameterException("The simulator runs no Lambda: only PAUSE lifecycle hooks are simulated.")
        # API Reference, DeploymentLifecycleHook.lifecycleStages: "PAUSE hooks cannot be
        # configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages."
        shifting = {"TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"} & set(hook.get("lifecycleStages") or [])
        if shifting:
            raise InvalidParameterException(
                f"PAUSE hooks cannot be configured at {sorted(shifting)[0]}: only AWS_LAMBDA hooks can.")


def _elbv2(service):
    return elbv2_models.elbv2_backends[service._account_id][service.region_name]


def _rule(service, arn: str):
    if not arn:
        return None
    for lb in _elbv2(service).load_balancers.values():
        for listener in lb.listeners.values():
            if arn in listener._non_default_rules:
                return listener._non_default_rules[arn]
    return None


def _set_rule(service, arn: str, weights: dict[str, int]) -> None:
    """ECS (through the service's infrastructure role) rewrites the rule's forward weights."""
    rule = _rule(service, arn)
    if rule is None:
        return
    for action in rule.actions:
        if action.type == "forward":
            groups = [{"TargetGroupArn": tg, "Weight": w} for tg, w in weights.items()]
            config = dict(action.data.get("ForwardConfig") or {})
            config["TargetGroups"] = groups
            config.setdefault("TargetGroupStickinessConfig", {"Enabled": False})
            action.data["ForwardConfig"] = config
            action.data.pop("TargetGroupArn", None)
            action.__dict__.pop("TargetGroupArn", None)
            action.__dict__.update(action.data)  # moto serializes the action's attributes
            sim.record("weights_changed", load_balancer=rule.listener_arn, listener=arn, weights={k: float(v) for k, v in weights.items()})
            return


def _lb(service) -> dict:
    return (service.load_balancers or [{}])[0]


def _groups(service) -> tuple[str, str]:
    """(blue, green): the target group production is on now, and the other one."""
    lb = _lb(service)
    primary, alternate = lb.get("targetGroupArn"), (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
    active = getattr(service.sim, "native_active_tg", None) or primary
    return active, alternate if active == primary else primary


# --- starting ------------------------------------------------------------------------------
def refuse_if_in_progress(backend, service) -> None:
    for sd in _store(backend)["deployments"].values():
        if sd["serviceArn"] == service.arn and sd["status"] in ACTIVE:
            raise InvalidParameterException(
                f"Service deployment {sd['serviceDeploymentArn']} is in progress; stop it (StopServiceDeployment) first.")


def start(backend, service, task_definition: str) -> None:
    """UpdateService with a new revision on a native strategy: a new service deployment."""
    store = _store(backend)
    blue_dep = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    blue_td = blue_dep["taskDefinition"] if blue_dep else service.task_definition
    dep = r._new_deployment(service, task_definition)
    blue, green = _groups(service)
    dep["sim_green_tg"] = green
    prefix = f"arn:aws:ecs:{service.region_name}:{service._account_id}"
    path = f"{service.cluster_name}/{service.name}"

    def revision(td: str) -> str:
        arn = f"{prefix}:service-revision/{path}/{random.randint(10**18, 10**19 - 1)}"
        store["revisions"][arn] = {"serviceRevisionArn": arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
                                   "taskDefinition": td, "createdAt": _stamp(), "launchType": service.launch_type}
        return arn

    source, target = revision(blue_td), revision(task_definition)
    sid = _id()
    sd = {
        "serviceDeploymentArn": f"{prefix}:service-deployment/{path}/{sid}",
        "serviceArn": service.arn, "clusterArn": service.cluster_arn,
        "createdAt": _stamp(), "startedAt": _stamp(), "updatedAt": _stamp(),
        "status": "PENDING", "lifecycleStage": "RECONCILE_SERVICE",
        "sourceServiceRevisions": [{"arn": source, "requestedTaskCount": service.desired_count,
                                    "runningTaskCount": service.desired_count, "pendingTaskCount": 0,
                                    "requestedTestTrafficWeight": 100.0, "requestedProductionTrafficWeight": 100.0}],
        "targetServiceRevision": {"arn": target, "requestedTaskCount": service.desired_count, "runningTaskCount": 0,
                                  "pendingTaskCount": 0, "requestedTestTrafficWeight": 0.0,
                                  "requestedProductionTrafficWeight": 0.0},
        "deploymentConfiguration": dict(service.deployment_configuration or {}),
        "lifecycleHookDetails": [],
        # simulator bookkeeping (not serialized: keys starting with sim_)
        "sim_visible_at": sim.now + VISIBILITY_SECONDS, "sim_stage_at": sim.now, "sim_blue_td": blue_td,
        "sim_blue_dep": blue_dep["id"] if blue_dep else None, "sim_green_dep": dep["id"], "sim_blue_tg": blue,
        "sim_green_tg": green, "sim_weight": 0.0, "sim_weight_at": sim.now, "sim_hooks": {},
        "sim_backend": backend,
    }
    store["deployments"][sd["serviceDeploymentArn"]] = sd
    service.sim.native_current = sd["serviceDeploymentArn"]
    sim.record("service_deployment_started", service=service.arn, arn=sd["serviceDeploymentArn"],
               strategy=strategy(service), task_definition=task_definition)


# --- the lifecycle -------------------------------------------------------------------------
def _stage(sd: dict, stage: str) -> None:
    sd["lifecycleStage"], sd["sim_stage_at"], sd["updatedAt"] = stage, sim.now, _stamp()
    sim.record("service_deployment_stage", arn=sd["serviceDeploymentArn"], stage=stage)


def _hooks_hold(sd: dict, stage: str | None = None, occasion: str = "") -> bool:
    """Whether PAUSE hooks of the stage (the current one by default) still hold the deployment
    (creating them on the first look); a timed-out hook takes its timeout action. `occasion`
    tells apart the invocations of one stage (a traffic step each)."""
    stage = stage or sd["lifecycleStage"]
    hooks = [h for h in sd["deploymentConfiguration"].get("lifecycleHooks") or []
             if stage in (h.get("lifecycleStages") or [])]
    if not hooks:
        return False
    details = sd["sim_hooks"].setdefault(stage + occasion, [])
    if not details:
        for h in hooks:
            timeout = h.get("timeoutConfiguration") or {}
            minutes = int(timeout.get("timeoutInMinutes") or DEFAULT_HOOK_TIMEOUT_MINUTES)
            detail = {"hookId": f"ecs-pause-{_id()}{_id()}", "targetType": "PAUSE", "status": "AWAITING_ACTION",
                      "expiresAt": _stamp() + minutes * 60 / sim.time_scale,
                      "timeoutAction": timeout.get("action") or "ROLLBACK",
                      "sim_expires": sim.now + minutes * 60}
            details.append(detail)
            sd["lifecycleHookDetails"].append(detail)
            sim.record("hook_awaiting_action", arn=sd["serviceDeploymentArn"], stage=stage, hook=detail["hookId"])
    for d in details:
        if d["status"] == "AWAITING_ACTION" and sim.now >= d["sim_expires"]:
            d["status"] = "TIMED_OUT"
            if d["timeoutAction"] == "ROLLBACK":
                _rollback(sd, f"Lifecycle hook {d['hookId']} timed out.")
                return True
    return any(d["status"] == "AWAITING_ACTION" for d in details)


def _shift_target(sd: dict) -> float:
    """The production weight green should have now, in PRODUCTION_TRAFFIC_SHIFT: one step at a
    time, each held for its bake from when it was set (a slow tick never skips a step)."""
    cfg = sd["deploymentConfiguration"]
    kind = (cfg.get("strategy") or "BLUE_GREEN").upper()
    weight, held = sd["sim_weight"], sim.now - sd["sim_weight_at"]
    if kind == "CANARY":
        canary = cfg.get("canaryConfiguration") or {}
        pct = float(canary.get("canaryPercent") or 5.0)
        bake = 60.0 * int(canary.get("canaryBakeTimeInMinutes") or 10)
        return pct if weight == 0.0 else (100.0 if held >= bake else weight)
    if kind == "LINEAR":
        linear = cfg.get("linearConfiguration") or {}
        step, bake = float(linear.get("stepPercent") or 10.0), 60.0 * int(linear.get("stepBakeTimeInMinutes") or 6)
        return step if weight == 0.0 else (min(100.0, weight + step) if held >= bake else weight)
    return 100.0


# requestedProductionTrafficWeight is "a snapshot … [that] may not reflect real-time changes"
# (API Reference, ServiceRevisionSummary). AWS gives no figure: the simulator's snapshot catches
# up with the listener rule a CloudWatch minute after each shift, the less forgiving reading
# for anyone who takes it as live (issue 29, item 7).
SNAPSHOT_LAG = 60.0


def _snapshot(sd: dict) -> None:
    """The requested weights catch up with the rule once their lag has passed."""
    due = sd.get("sim_snapshot")
    if due and sim.now >= due[0]:
        sd["targetServiceRevision"]["requestedProductionTrafficWeight"] = due[1]
        sd["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] = 100.0 - due[1]
        sd["sim_snapshot"] = None


def _shift(service, sd: dict, weight: float) -> None:
    if weight == sd["sim_weight"]:
        return
    sd["sim_weight"], sd["sim_weight_at"] = weight, sim.now
    sd["sim_snapshot"] = (sim.now + SNAPSHOT_LAG, weight)
    adv = _lb(service).get("advancedConfiguration") or {}
    green = int(round(weight))
    _set_rule(service, adv.get("productionListenerRule"), {sd["sim_blue_tg"]: 100 - green, sd["sim_green_tg"]: green})


def _alarm_firing(service, sd: dict) -> str | None:
    alarms = sd["deploymentConfiguration"].get("alarms") or {}
    if not alarms.get("enable") or not alarms.get("rollback"):
        return None
    cw = cw_models.cloudwatch_backends[service._account_id][service.region_name]
    for name in alarms.get("alarmNames") or []:
        alarm = cw.alarms.get(name)
        if alarm is not None and alarm.state_value == "ALARM":
            return name
    return None


def _green_tasks(backend, service, sd: dict) -> list:
    return [t for t in r._tasks(backend, service) if t.started_by == sd["sim_green_dep"]]


def _blue_tasks(backend, service, sd: dict) -> list:
    return [t for t in r._tasks(backend, service) if t.started_by != sd["sim_green_dep"]]


def _keep_green_scaled(backend, service, sd: dict) -> None:
    green = [t for t in _green_tasks(backend, service, sd) if t.live]
    missing = service.desired_count - len(green)
    if missing > 0:
        dep = next(d for d in service.deployments if d["id"] == sd["sim_green_dep"])
        r._start_tasks(backend, service, dep, missing, target_groups=[sd["sim_green_tg"]])


def _rollback(sd: dict, reason: str) -> None:
    if sd["status"] not in ("PENDING", "IN_PROGRESS"):
        return
    sd["status"], sd["statusReason"], sd["updatedAt"] = "ROLLBACK_REQUESTED", reason, _stamp()
    sd["rollback"] = {"reason": reason, "startedAt": _stamp(), "serviceRevisionArn": sd["sourceServiceRevisions"][0]["arn"]}
    sim.record("service_deployment_rollback", arn=sd["serviceDeploymentArn"], reason=reason)


def _tick_rollback(backend, service, sd: dict) -> None:
    if sd["status"] == "ROLLBACK_REQUESTED":
        sd["status"], sd["updatedAt"] = "ROLLBACK_IN_PROGRESS", _stamp()
        adv = _lb(service).get("advancedConfiguration") or {}
        _shift(service, sd, 0.0)
        _set_rule(service, adv.get("testListenerRule"), {sd["sim_blue_tg"]: 100, sd["sim_green_tg"]: 0})
        service.task_definition = sd["sim_blue_td"]
        for d in service.deployments:
            if d["id"] == sd["sim_blue_dep"]:
                d["status"] = "PRIMARY"
            elif d["id"] == sd["sim_green_dep"]:
                d.update(status="ACTIVE", rolloutState="FAILED", rolloutStateReason=sd["statusReason"])
        service.deployments.sort(key=lambda d: d["status"] != "PRIMARY")
        for t in _green_tasks(backend, service, sd):
            if t.live:
                r._stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
        return
    # Stopped in CLEAN_UP, the source revision's tasks are already stopping: production is back
    # on their draining target group (the ALB's 503s) until ECS has started them again. AWS
    # does not document this case; this is the less forgiving reading (issue 29, item 9).
    blue = [t for t in _blue_tasks(backend, service, sd) if t.live]
    if len(blue) < service.desired_count:
        dep = next((d for d in service.deployments if d["id"] == sd["sim_blue_dep"]), None)
        if dep is not None:
            r._start_tasks(backend, service, dep, service.desired_count - len(blue), target_groups=[sd["sim_blue_tg"]])
    running = sum(t.last_status == "RUNNING" for t in blue)
    if running >= service.desired_count and all(t.sim_stopped_at is not None for t in _green_tasks(backend, service, sd)):
        service.deployments[:] = [d for d in service.deployments if d["id"] != sd["sim_green_dep"]]
        _finish(sd, "ROLLBACK_SUCCESSFUL")


def _finish(sd: dict, status: str) -> None:
    if sd.get("sim_snapshot"):  # a finished deployment's snapshot is its last word
        sd["sim_snapshot"] = (sim.now, sd["sim_snapshot"][1])
        _snapshot(sd)
    sd["status"], sd["finishedAt"], sd["updatedAt"] = status, _stamp(), _stamp()
    sim.record("service_deployment_finished", arn=sd["serviceDeploymentArn"], status=status)


def tick_service(backend, service) -> bool:
    """Advances the service's native deployment, if one is running; False when none is (the
    rolling tick then keeps the service as usual)."""
    arn = getattr(service.sim, "native_current", None)
    sd = _store(backend)["deployments"].get(arn) if arn else None
    if sd is None or sd["status"] not in ACTIVE:
        return False
    tasks = r._tasks(backend, service)
    for task in tasks:
        r._advance_task(service, task)
    if sd["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        _tick_rollback(backend, service, sd)
    else:
        _tick_forward(backend, service, sd)
    _snapshot(sd)
    r._update_counts(backend, service)
    green = [t for t in _green_tasks(backend, service, sd) if t.live]
    sd["targetServiceRevision"]["runningTaskCount"] = sum(t.last_status == "RUNNING" for t in green)
    sd["targetServiceRevision"]["pendingTaskCount"] = sum(t.last_status != "RUNNING" for t in green)
    return True


def _tick_forward(backend, service, sd: dict) -> None:
    stage = sd["lifecycleStage"]
    if sd["status"] == "PENDING":
        sd["status"] = "IN_PROGRESS"
    firing = _alarm_firing(service, sd) if stage in WATCHED_BY_ALARMS else None
    if firing:
        _rollback(sd, f"Alarm {firing} is in ALARM state.")
        sd["sim_triggered"] = ("alarms", firing)
        return
    if stage in ORDER[ORDER.index("SCALE_UP"):ORDER.index("CLEAN_UP")]:
        _keep_green_scaled(backend, service, sd)
        if r._circuit_breaker_tripped(service, sd["sim_green_dep"]):
            _rollback(sd, "ECS deployment circuit breaker: tasks failed to start.")
            sd["sim_triggered"] = ("circuit_breaker", None)
            return
    if sim.now < sd["sim_stage_at"] + STAGE_SECONDS or _hooks_hold(sd):
        return
    if sd["status"] != "IN_PROGRESS":
        return  # a timed-out hook rolled it back
    adv = _lb(service).get("advancedConfiguration") or {}
    if stage == "SCALE_UP":
        green = [t for t in _green_tasks(backend, service, sd) if t.live and t.last_status == "RUNNING"]
        if len(green) < service.desired_count or not all(map(r._stable, green)):
            return
    elif stage == "TEST_TRAFFIC_SHIFT":
        _set_rule(service, adv.get("testListenerRule"), {sd["sim_blue_tg"]: 0, sd["sim_green_tg"]: 100})
        sd["targetServiceRevision"]["requestedTestTrafficWeight"] = 100.0
        sd["sourceServiceRevisions"][0]["requestedTestTrafficWeight"] = 0.0
    elif stage == "POST_TEST_TRAFFIC_SHIFT":
        # PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage with no lifecycle stage of its own: its
        # hooks hold the deployment between the test shift and the production shift.
        if _hooks_hold(sd, "PRE_PRODUCTION_TRAFFIC_SHIFT") or sd["status"] != "IN_PROGRESS":
            return
    elif stage == "PRODUCTION_TRAFFIC_SHIFT":
        target = _shift_target(sd)
        # "For linear and canary deployments, this stage [PRE_PRODUCTION_TRAFFIC_SHIFT] is
        # invoked before every traffic shift step" (API Reference, DeploymentLifecycleHook):
        # the first step's hooks held at POST_TEST_TRAFFIC_SHIFT; each later step's hold here.
        if 0.0 < sd["sim_weight"] < target:
            occasion = f"@{sd['sim_weight']:g}"
            if _hooks_hold(sd, "PRE_PRODUCTION_TRAFFIC_SHIFT", occasion) or sd["status"] != "IN_PROGRESS":
                return
        _shift(service, sd, target)
        if sd["sim_weight"] < 100.0:
            return
    elif stage == "BAKE_TIME":
        bake = 60.0 * int(sd["deploymentConfiguration"].get("bakeTimeInMinutes") or 0)
        if sim.now < sd["sim_stage_at"] + bake:
            return
    elif stage == "CLEAN_UP":
        blue = _blue_tasks(backend, service, sd)
        for t in blue:
            if t.live:
                r._stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
        if any(t.sim_stopped_at is None for t in blue):
            return
        service.deployments[:] = [d for d in service.deployments if d["id"] == sd["sim_green_dep"]]
        dep = service.deployments[0]
        dep.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {dep['id']} completed.")
        service.sim.last_completed = {"id": dep["id"], "taskDefinition": dep["taskDefinition"]}
        service.sim.native_active_tg = sd["sim_green_tg"]
        _finish(sd, "SUCCESSFUL")
        return
    _stage(sd, ORDER[ORDER.index(stage) + 1])
