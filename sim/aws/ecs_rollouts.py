"""ECS rolling deployments, tasks and the deployment circuit breaker, on simulated time.

moto keeps one PRIMARY deployment that never progresses and starts no tasks.
Here CreateService / UpdateService (new task definition or forceNewDeployment)
create a real PRIMARY deployment; every tick each service's PRIMARY is kept at
desiredCount by starting tasks (PROVISIONING -> PENDING -> RUNNING after the
image's start_seconds), crashing ones are stopped and replaced, and once the
PRIMARY is steady (all running, targets healthy) the older deployments drain
and the rollout COMPLETES. The circuit breaker fails (and optionally rolls
back) a deployment after max(3, min(200, ceil(desiredCount / 2))) failed tasks.

Sim state: `service.sim` (ServiceSim) and SimTask objects stored in moto's own
`backend.tasks[cluster][arn]`, so moto's ListTasks/DescribeTasks/StopTask see them.
"""
import math
import random
import uuid
from dataclasses import dataclass, field

from moto.core.utils import utcnow
from moto.ecs import models as ecs_models

from . import elb_health
from .core import sim
from .scenarios import DEFAULT

STOPPED_TASK_RETENTION = 3600.0  # sim seconds; AWS keeps stopped tasks describable ~1 h
MAX_SERVICE_EVENTS = 100
# A task counts toward a steady deployment only after it has stayed RUNNING this long (sim
# seconds). Without it, a task that crashes 2 s after start could complete a deployment when a
# tick happened to land inside those 2 s, and the circuit breaker then never tripped.
STEADY_SECONDS = 10.0
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


@dataclass
class ServiceSim:
    last_completed: dict | None = None  # {"id", "taskDefinition"} of the last COMPLETED deployment
    cb_failures: dict = field(default_factory=dict)  # deployment id -> the circuit breaker's failure count
    native_current: str | None = None  # ARN of the ECS-native service deployment last started (ecs_native)
    native_active_tg: str | None = None  # the target group production is on after a native deployment
    codedeploy_current: object = None  # the CodeDeploy deployment (codedeploy_ecs) running on the service
    rolling_records: dict = field(default_factory=dict)  # ECS deployment id -> its service deployment (ecs_rolling_records)
    rollback_deployments: set = field(default_factory=set)  # ids of deployments ECS started to roll back
    bake_started: dict = field(default_factory=dict)  # deployment id -> when its alarm bake began (ecs_rolling_alarms)


class SimContainer:
    """Duck-types moto's Container for the response serializer."""

    def __init__(self, task: "SimTask", cdef: dict):
        self.container_arn = f"arn:aws:ecs:{task.region_name}:{task.account_id}:container/{task.cluster_name}/{task.id}/{uuid.uuid4()}"
        self.task_arn = task.task_arn
        self.name, self.image = cdef.get("name"), cdef.get("image")
        self.last_status = "PENDING"
        self.exit_code = None
        self.reason = None
        self.health_status = "UNKNOWN"
        self.cpu = str(cdef.get("cpu", 0))
        self.network_interfaces = [{"attachmentId": task.eni_id, "privateIpv4Address": task.ip}]


class SimTask:
    """A service task. Duck-types moto's ecs Task (serializer, list/describe/stop_task)."""

    def __init__(self, service, deployment: dict, td):
        self._init(service.region_name, service._account_id, service.cluster_name, service.cluster_arn, td,
                   started_by=deployment["id"], group=f"service:{service.name}", launch_type=service.launch_type,
                   platform_version=service.platform_version, network=service.network_configuration)

    def _init(self, region, account, cluster_name, cluster_arn, td, *, started_by, group, launch_type,
              platform_version, network) -> None:
        """What every simulated task has, a service's or one RunTask started (ecs_run_task)."""
        self.id = uuid.uuid4().hex
        self.region_name, self.account_id = region, account
        self.cluster_name, self.cluster_arn = cluster_name, cluster_arn
        self.task_definition_arn = td.arn
        self.started_by = started_by
        self.group = group
        self.launch_type = launch_type
        self.platform_version = platform_version
        self.desired_status, self.last_status = "RUNNING", "PROVISIONING"
        self.created_at, self.started_at, self.stopping_at, self.stopped_at = utcnow(), None, None, None
        self.stopped_reason = self.stop_code = None
        self.container_instance_arn = self.resource_requirements = None
        self.cpu, self.memory = getattr(td, "cpu", None), getattr(td, "memory", None)
        self.tags, self.overrides = [], {"containerOverrides": []}
        self.health_status = "UNKNOWN"
        self.version = 1
        self.ip, self.eni_id = sim.next_ip(), f"eni-attach-{uuid.uuid4()}"
        subnets = (network or {}).get("awsvpcConfiguration", {}).get("subnets") or [""]
        self.attachments = [{
            "id": self.eni_id, "type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [{"name": "subnetId", "value": subnets[0]}, {"name": "privateIPv4Address", "value": self.ip}],
        }]
        self.containers = [SimContainer(self, c) for c in td.container_definitions]
        # The first container whose image has a scenario decides the task's behaviour.
        images = [c.image for c in self.containers]
        self.image = next((i for i in images if sim.scenario_for(i) is not DEFAULT), images[0] if images else None)
        # Simulated-time bookkeeping.
        self.sim_created = sim.now
        self.sim_healthy_once = False  # has reached a healthy state (resets the circuit breaker once)
        self.sim_running_at = sim.now + sim.scenario_for(self.image).start_seconds
        self.sim_stopped_at: float | None = None
        self.targets: list[tuple] = []  # FakeTargetGroups this task's IP is registered in

    @property
    def task_arn(self) -> str:
        return f"arn:aws:ecs:{self.region_name}:{self.account_id}:task/{self.cluster_name}/{self.id}"

    def advance(self) -> None:  # moto's describe_tasks calls this on ManagedState tasks
        pass

    @property
    def live(self) -> bool:
        return self.desired_status == "RUNNING"


def _deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def _event(service, message: str) -> None:
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": f"(service {service.name}) {message}"})
    del service.events[MAX_SERVICE_EVENTS:]


def _new_deployment(service, task_definition_arn: str, *, record: bool = True) -> dict:
    """A new PRIMARY deployment; `record`: a service deployment of its own (not a breaker's
    rollback, which belongs to the deployment that failed)."""
    from . import ecs_rolling_records  # builds on this module

    previous = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    for d in service.deployments:
        if d["status"] == "PRIMARY":
            d["status"], d["updatedAt"] = "ACTIVE", utcnow()
    dep_id, now = _deployment_id(), utcnow()
    dep = {
        "id": dep_id, "status": "PRIMARY", "taskDefinition": task_definition_arn,
        "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": 0, "failedTasks": 0,
        "createdAt": now, "updatedAt": now, "launchType": service.launch_type,
        "platformVersion": service.platform_version, "networkConfiguration": service.network_configuration,
        "rolloutState": "IN_PROGRESS", "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
    }
    service.deployments.insert(0, dep)
    sim.record("deployment_started", service=service.arn, deployment=dep_id, task_definition=task_definition_arn)
    if record:
        ecs_rolling_records.started(service, dep, previous)
    return dep


def _tasks(backend, service) -> list[SimTask]:
    return [t for t in backend.tasks.get(service.cluster_name, {}).values()
            if isinstance(t, SimTask) and t.group == f"service:{service.name}"]


def _update_counts(backend, service) -> None:
    tasks = _tasks(backend, service)
    for d in service.deployments:
        mine = [t for t in tasks if t.started_by == d["id"] and t.live]
        d["runningCount"] = sum(t.last_status == "RUNNING" for t in mine)
        d["pendingCount"] = sum(t.last_status in ("PROVISIONING", "PENDING") for t in mine)
    service.running_count = sum(d["runningCount"] for d in service.deployments)
    service.pending_count = sum(d["pendingCount"] for d in service.deployments)


# --- task life-cycle ----------------------------------------------------------------------
def _start_tasks(backend, service, dep: dict, n: int, target_groups: list[str] | None = None) -> None:
    """`target_groups`: where the tasks register (an ECS-native green deployment's alternate
    group); by default the group the service's production traffic is on."""
    td = backend.describe_task_definition(dep["taskDefinition"])
    started = []
    for _ in range(n):
        task = SimTask(service, dep, td)
        task.sim_target_groups = target_groups
        backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
        started.append(task)
    _event(service, f"has started {n} tasks: " + " ".join(f"(task {t.id})" for t in started) + ".")


def _stop(service, task: SimTask, reason: str, *, failed=False, exit_code=0, graceful=True, stop_code="ServiceSchedulerInitiated") -> None:
    """ECS stops a task: its targets drain; a graceful stop waits for them (DEACTIVATING)."""
    task.desired_status, task.stopped_reason, task.stop_code = "STOPPED", reason, stop_code
    task.stopping_at = utcnow()
    for c in task.containers:
        c.exit_code = exit_code
    for tg in task.targets:
        elb_health.begin_draining(tg, task.ip)
    if failed:
        for d in service.deployments:
            if d["id"] == task.started_by:
                d["failedTasks"] += 1
        if getattr(service, "sim", None) is not None:
            service.sim.cb_failures[task.started_by] = service.sim.cb_failures.get(task.started_by, 0) + 1
    if graceful and task.targets and task.last_status == "RUNNING":
        task.last_status = "DEACTIVATING"
    else:
        _finish_stop(task)


def _finish_stop(task: SimTask) -> None:
    task.last_status, task.stopped_at, task.sim_stopped_at = "STOPPED", utcnow(), sim.now
    for c in task.containers:
        c.last_status = "STOPPED"


def _advance_task(service, task: SimTask) -> None:
    now, sc = sim.now, sim.scenario_for(task.image)  # live: scenarios can change at run time
    if not task.live:
        if task.sim_stopped_at is None and task.stop_code is None:  # StopTask API (moto set the fields)
            task.stop_code, task.stopping_at = "UserInitiated", utcnow()
            for tg in task.targets:
                elb_health.begin_draining(tg, task.ip)
            if task.targets:
                task.last_status = "DEACTIVATING"
        if task.sim_stopped_at is None and all(elb_health.state_of(tg, task.ip) is None for tg in task.targets):
            _finish_stop(task)
        return
    if task.last_status == "PROVISIONING" and now >= task.sim_created + 0.3 * sc.start_seconds:
        task.last_status = "PENDING"
    if task.last_status == "PENDING" and now >= task.sim_running_at:
        task.last_status, task.started_at = "RUNNING", utcnow()
        for c in task.containers:
            c.last_status = "RUNNING"
        for lb in service.load_balancers or []:
            arn = lb.get("targetGroupArn")
            if getattr(service, "sim", None) is not None and getattr(service.sim, "native_active_tg", None):
                arn = service.sim.native_active_tg  # ECS native: the group production is on now
            if getattr(task, "sim_target_groups", None):
                arn = task.sim_target_groups[0]
            tg = elb_health.find_target_group(task.account_id, task.region_name, arn)
            if tg is not None:
                elb_health.register(tg, task.ip, int(lb.get("containerPort") or 80), task.image, task.sim_running_at)
                task.targets.append(tg)
    if task.last_status != "RUNNING":
        return
    if sc.crash and now >= task.sim_running_at + sc.crash_after_seconds:
        for c in task.containers:
            c.reason = sc.crash_reason or None
        _stop(service, task, "Essential container in task exited", failed=True, exit_code=sc.exit_code,
              graceful=False, stop_code="EssentialContainerExited")
        return
    # ECS ignores ELB health checks for healthCheckGracePeriodSeconds after a task starts.
    grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0)
    if now < task.sim_running_at + grace:
        return
    for tg in task.targets:
        if elb_health.state_of(tg, task.ip) == "unhealthy":
            port = tg.targets.get(task.ip, {}).get("Port")
            _event(service, f"(task {task.id}) (port {port}) is unhealthy in (target-group {tg.arn}) due to (reason Health checks failed).")
            _stop(service, task, f"Task failed ELB health checks in (target-group {tg.arn})", failed=True)
            return


def _stable(task: SimTask) -> bool:
    """Running for STEADY_SECONDS, and healthy in every target group."""
    return sim.now >= task.sim_running_at + STEADY_SECONDS and _targets_healthy(task)


def _targets_healthy(task: SimTask) -> bool:
    return all(elb_health.state_of(tg, task.ip) == "healthy" for tg in task.targets)


# --- deployments --------------------------------------------------------------------------
def _threshold(cb: dict, desired: int) -> int:
    """thresholdConfiguration: COUNT is the value itself; the percent types multiply it (default
    50) by the desired count, BOUNDED_PERCENT (the default) within 3..200."""
    cfg = cb.get("thresholdConfiguration") or {}
    kind, value = cfg.get("type", "BOUNDED_PERCENT"), float(cfg.get("value", 50))
    if kind == "COUNT":
        return max(1, int(value))
    n = math.ceil(value / 100.0 * desired)
    return max(1, n) if kind == "UNBOUNDED_PERCENT" else max(3, min(200, n))


def _reset_on_healthy(service, primary: dict, tasks: list) -> None:
    """resetOnHealthyTask (default true): a task of the deployment reaching a healthy state sets
    the breaker's failure count back to 0. Healthy here is what completes a deployment: RUNNING
    for STEADY_SECONDS and healthy in every target group."""
    cb = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    for t in tasks:
        if t.started_by == primary["id"] and t.live and t.last_status == "RUNNING" and not t.sim_healthy_once \
                and _stable(t):
            t.sim_healthy_once = True
            if cb.get("resetOnHealthyTask", True):
                service.sim.cb_failures[primary["id"]] = 0


def _percents(service) -> tuple[int, int]:
    cfg = getattr(service, "deployment_configuration", None) or {}
    return int(cfg.get("maximumPercent", 200)), int(cfg.get("minimumHealthyPercent", 100))


def _room_to_start(service, primary: dict, tasks: list) -> int:
    """maximumPercent: tasks of every deployment that are running or on their way (pending, or
    still draining behind the load balancer) stay within desired x max% (rounded down)."""
    max_pct, _ = _percents(service)
    ceiling = math.floor(service.desired_count * max_pct / 100.0)
    counted = [t for t in tasks if t.live or (t.sim_stopped_at is None and t.last_status == "DEACTIVATING")]
    return ceiling - len(counted)


def _stop_old_within_min_healthy(service, primary: dict, tasks: list) -> None:
    """minimumHealthyPercent: older deployments' healthy tasks are stopped (oldest first) only
    while the healthy ones left, old and new, stay at or above desired x min% (rounded up).
    Their tasks that are not healthy (still pending, failing checks) count for nothing there:
    they are stopped first, as far as the new deployment needs room under maximumPercent."""
    _, min_pct = _percents(service)
    floor_ = math.ceil(service.desired_count * min_pct / 100.0)
    healthy = lambda t: t.last_status == "RUNNING" and _targets_healthy(t)  # noqa: E731
    old = sorted([t for t in tasks if t.started_by != primary["id"] and t.live], key=lambda t: t.sim_created)
    new_live = [t for t in tasks if t.started_by == primary["id"] and t.live]
    need = service.desired_count - len(new_live) - max(0, _room_to_start(service, primary, tasks))
    for t in [t for t in old if not healthy(t)][:max(0, need)]:
        _stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
    healthy_old = [t for t in old if healthy(t)]
    stoppable = sum(map(healthy, new_live)) + len(healthy_old) - floor_
    for t in healthy_old[:max(0, stoppable)]:
        _stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")


def _circuit_breaker_tripped(service, deployment_id: str) -> bool:
    """Whether the breaker (when enabled) has counted enough failed tasks of this deployment."""
    cb = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    desired = service.desired_count
    return bool(cb.get("enable")) and service.sim.cb_failures.get(deployment_id, 0) >= _threshold(cb, desired)


def _circuit_breaker(service, primary: dict) -> None:
    cb = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    threshold = _threshold(cb, primary["desiredCount"])
    failures = service.sim.cb_failures.get(primary["id"], 0)
    if not cb.get("enable") or primary["rolloutState"] != "IN_PROGRESS" or failures < threshold:
        return
    _fail(service, primary, "ECS deployment circuit breaker: tasks failed to start.",
          "tasks failed to start.", bool(cb.get("rollback")), ("circuit_breaker", None))


def _deployment_alarms(service, primary: dict) -> None:
    """A deployment alarm in ALARM fails the deployment (and rolls it back, when set)."""
    from . import ecs_rolling_alarms
    if primary["rolloutState"] != "IN_PROGRESS" or primary["id"] in service.sim.rollback_deployments:
        return
    alarm = ecs_rolling_alarms.firing(service)
    if alarm is None:
        return
    _fail(service, primary, f"ECS deployment failed: alarm {alarm} is in ALARM state.",
          f"alarm {alarm} detected.", ecs_rolling_alarms.rolls_back(service), ("alarms", alarm))


def _fail(service, primary: dict, reason: str, event: str, rollback: bool, trigger: tuple) -> None:
    """The deployment FAILED (by the circuit breaker or an alarm); with rollback, a new PRIMARY
    on the last completed task definition."""
    dep_id = primary["id"]
    primary.update(rolloutState="FAILED", updatedAt=utcnow(), rolloutStateReason=reason)
    _event(service, f"(deployment {dep_id}) deployment failed: {event}")
    sim.record("deployment_failed", service=service.arn, deployment=dep_id, trigger=trigger[0], alarm=trigger[1])
    last = service.sim.last_completed
    new = None
    if rollback and last:
        _event(service, f"rolling back to deployment {last['id']}.")
        service.task_definition = last["taskDefinition"]
        new = _new_deployment(service, last["taskDefinition"], record=False)
        service.sim.rollback_deployments.add(new["id"])
        sim.record("rollback_started", service=service.arn, failed_deployment=dep_id,
                   to_deployment=last["id"], deployment=new["id"], task_definition=last["taskDefinition"])
    from . import ecs_rolling_records
    ecs_rolling_records.failed(service, primary, new, reason, trigger)


def _tick_service(backend, service) -> None:
    from . import ecs_rolling_records  # builds on this module

    tasks = _tasks(backend, service)
    for task in tasks:
        _advance_task(service, task)
    primary = service.deployments[0]
    if service.status != "ACTIVE":  # deleted: stop everything
        for t in tasks:
            if t.live:
                _stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
        _update_counts(backend, service)
        return
    live = [t for t in tasks if t.started_by == primary["id"] and t.live]
    primary["desiredCount"] = service.desired_count
    ecs_rolling_records.tick(backend, service, primary)
    if len(live) < service.desired_count:
        room = _room_to_start(service, primary, tasks)
        if room > 0:
            _start_tasks(backend, service, primary, min(room, service.desired_count - len(live)))
        _stop_old_within_min_healthy(service, primary, tasks)
    elif len(live) > service.desired_count:  # scale in: stop the youngest first
        extra = sorted(live, key=lambda t: t.sim_created)[service.desired_count:]
        for t in extra:
            _stop(service, t, f"Scaling activity initiated by (deployment {primary['id']})")
        _event(service, f"has stopped {len(extra)} running tasks: " + " ".join(f"(task {t.id})" for t in extra) + ".")
    _reset_on_healthy(service, primary, tasks)
    _circuit_breaker(service, primary)
    _deployment_alarms(service, primary)
    primary = service.deployments[0]  # a rollback inserts a new PRIMARY
    _update_counts(backend, service)

    running = [t for t in _tasks(backend, service) if t.started_by == primary["id"] and t.live and t.last_status == "RUNNING"]
    steady = primary["rolloutState"] == "IN_PROGRESS" and len(running) == service.desired_count and all(map(_stable, running))
    if not steady:
        return
    old = service.deployments[1:]
    old_tasks = [t for t in _tasks(backend, service) if t.started_by != primary["id"] and t.sim_stopped_at is None]
    to_stop = [t for t in old_tasks if t.live]
    for t in to_stop:  # the old deployment scales in: the reason names the task's own deployment
        _stop(service, t, f"Scaling activity initiated by (deployment {t.started_by})")
    if to_stop:
        _event(service, f"has stopped {len(to_stop)} running tasks: " + " ".join(f"(task {t.id})" for t in to_stop) + ".")
    for d in old:
        d["desiredCount"] = 0
    if any(t.sim_stopped_at is None for t in old_tasks):
        return  # still draining
    del service.deployments[1:]
    from . import ecs_rolling_alarms
    if not ecs_rolling_alarms.baked(service, primary):
        return  # the deployment alarms' bake: still IN_PROGRESS, still watched
    primary.update(rolloutState="COMPLETED", updatedAt=utcnow(),
                   rolloutStateReason=f"ECS deployment {primary['id']} completed.")
    service.sim.last_completed = {"id": primary["id"], "taskDefinition": primary["taskDefinition"]}
    _event(service, f"(deployment {primary['id']}) deployment completed.")
    _event(service, "has reached a steady state.")
    sim.record("deployment_completed", service=service.arn, deployment=primary["id"], task_definition=primary["taskDefinition"])
    ecs_rolling_records.completed(backend, service, primary)
    _update_counts(backend, service)


def all_backends():
    for account in list(ecs_models.ecs_backends.values()):
        yield from list(account.values())


def tick(_dt: float) -> None:
    from . import codedeploy_ecs, ecs_native  # they build on this module

    for backend in all_backends():
        for service in list(backend.services.values()):
            if getattr(service, "sim", None) is not None and service.deployments:
                if not (ecs_native.tick_service(backend, service) or codedeploy_ecs.tick_service(backend, service)):
                    _tick_service(backend, service)
        for cluster_tasks in backend.tasks.values():  # forget long-stopped tasks, as AWS does
            for arn, t in list(cluster_tasks.items()):
                if isinstance(t, SimTask) and t.sim_stopped_at is not None and sim.now - t.sim_stopped_at > STOPPED_TASK_RETENTION:
                    del cluster_tasks[arn]
