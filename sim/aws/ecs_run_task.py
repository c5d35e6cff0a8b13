"""RunTask: one-off tasks (a migration before a deploy) that run, exit and stop, on simulated time.

moto's RunTask starts tasks that never progress (and, without the FARGATE launch type, needs
container instances). Here a RunTask task goes PROVISIONING -> PENDING -> RUNNING after the
image's `start_seconds`, runs its command for the scenario's `task_seconds`, then its
containers exit with `task_exit_code` (stopCode EssentialContainerExited, "Essential container
in task exited") and the task is DEPROVISIONING for DEPROVISION_SECONDS before STOPPED, as the
task lifecycle goes (ECS Developer Guide, "Amazon ECS task lifecycle"). A scenario with
`task_stop_reason` never starts: STOPPED with stopCode TaskFailedToStart and that reason (e.g.
"CannotPullContainerError: ..."), no exit code. A crashing image (`crash`) exits sooner with its
`exit_code` when `crash_after_seconds` comes first.

Validation AWS does and moto skips: an awsvpc task definition needs a networkConfiguration
("Network Configuration must be provided when networkMode 'awsvpc' is specified."), count is
1-10 (RunTask API Reference).

Idempotency: a RunTask with a `clientToken` already used answers the tasks that token started
instead of starting more (RunTask API Reference, clientToken; the SDKs fill it in once per call,
so a retried attempt whose first try AWS executed does not run a migration twice).

Eventual consistency: RunTask's tasks are invisible to DescribeTasks for VISIBILITY_SECONDS
(a MISSING failure), as the RunTask API Reference warns ("the result of an API command ...
might not be immediately visible ... run the DescribeTasks command using an exponential
backoff algorithm"). The delay is not documented: 5 s is our less forgiving reading.
"""
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from .core import sim
from .ecs_rollouts import SimTask, all_backends, STOPPED_TASK_RETENTION

DEPROVISION_SECONDS = 10.0
VISIBILITY_SECONDS = 5.0
MAX_COUNT = 10
AWSVPC_NEEDS_NETWORK = "Network Configuration must be provided when networkMode 'awsvpc' is specified."

_orig_run_task_response = EC2ContainerServiceResponse.run_task
_orig_describe_tasks = EC2ContainerServiceBackend.describe_tasks
_orig_describe_tasks_response = EC2ContainerServiceResponse.describe_tasks


class OneOffTask(SimTask):
    """A task RunTask started: no service, no load balancer, one command to completion."""

    def __init__(self, backend, cluster, td, *, started_by, group, launch_type, platform_version, network,
                 overrides, tags):
        self._init(backend.region_name, backend.account_id, cluster.name, cluster.arn, td,
                   started_by=started_by or "", group=group or f"family:{td.family}", launch_type=launch_type,
                   platform_version=platform_version, network=network)
        self.overrides = overrides or {"containerOverrides": []}
        self.tags = tags or []
        self.sim_visible_at = sim.now + VISIBILITY_SECONDS
        self.sim_exit_at: float | None = None


def _run_task(self, cluster_str, task_definition_str, count, overrides, started_by, tags, launch_type,
              networking_configuration=None, group=None, platform_version=None, capacity_provider_strategy=None):
    cluster = self._get_cluster(cluster_str)
    td = self.describe_task_definition(task_definition_str)
    if not 1 <= int(count or 1) <= MAX_COUNT:
        raise InvalidParameterException(f"count must be between 1 and {MAX_COUNT}.")
    if getattr(td, "network_mode", None) == "awsvpc" and not networking_configuration:
        raise InvalidParameterException(AWSVPC_NEEDS_NETWORK)
    tasks = []
    for _ in range(int(count or 1)):
        task = OneOffTask(self, cluster, td, started_by=started_by, group=group,
                          launch_type=launch_type or ("" if capacity_provider_strategy else "EC2"),
                          platform_version=platform_version, network=networking_configuration,
                          overrides=overrides, tags=tags)
        self.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        sim.record("task_run", task=task.task_arn, task_definition=td.arn, overrides=overrides,
                   network=networking_configuration, started_by=started_by, launch_type=task.launch_type)
        tasks.append(task)
    return tasks


def _run_task_response(self):
    token = self._get_param("clientToken")
    seen = getattr(self.ecs_backend, "sim_run_task_tokens", None)
    if seen is None:
        seen = self.ecs_backend.sim_run_task_tokens = {}
    if token and token in seen:
        return ActionResult({"tasks": seen[token], "failures": []})
    result = _orig_run_task_response(self)
    if token:
        seen[token] = result.result.get("tasks", [])
    return result


def _describe_tasks(self, cluster_str, tasks):
    """A task RunTask started moments ago is not found yet (eventual consistency)."""
    found = _orig_describe_tasks(self, cluster_str, tasks)
    return [t for t in found if sim.now >= getattr(t, "sim_visible_at", 0.0)]


def _describe_tasks_response(self):
    """moto answers `failures: []` always; AWS lists each task it did not find as MISSING."""
    result = _orig_describe_tasks_response(self)
    answer = result.result
    asked = self._get_param("tasks", [])
    found = answer.get("tasks", [])
    missing = [a for a in asked if not any(a == t.task_arn or a == t.id for t in found)]
    answer["failures"] = [{"arn": a, "reason": "MISSING"} for a in missing]
    return result


def _exit(task: OneOffTask, code: int | None, reason: str | None, *, stop_code: str, stopped_reason: str) -> None:
    task.desired_status, task.stop_code, task.stopped_reason = "STOPPED", stop_code, stopped_reason
    task.stopping_at = utcnow()
    for c in task.containers:
        c.last_status, c.exit_code, c.reason = "STOPPED", code, reason
    task.sim_exit_at = sim.now


def _advance(task: OneOffTask) -> None:
    now, sc = sim.now, sim.scenario_for(task.image)
    if task.sim_stopped_at is not None:
        return
    if task.sim_exit_at is not None:  # exited: deprovisioning, then STOPPED
        task.last_status = "DEPROVISIONING"
        if now >= task.sim_exit_at + DEPROVISION_SECONDS:
            task.last_status, task.stopped_at, task.sim_stopped_at = "STOPPED", utcnow(), now
        return
    if not task.live:  # StopTask: SIGTERM, then SIGKILL after the stop timeout
        _exit(task, 143 if task.started_at is not None else None, None, stop_code="UserInitiated",
              stopped_reason=task.stopped_reason or "Task stopped by user")
        return
    if task.last_status == "PROVISIONING" and now >= task.sim_created + 0.3 * sc.start_seconds:
        task.last_status = "PENDING"
    if task.last_status == "PENDING" and sc.task_stop_reason:
        _exit(task, None, sc.task_stop_reason, stop_code="TaskFailedToStart", stopped_reason=sc.task_stop_reason)
        return
    if task.last_status == "PENDING" and now >= task.sim_running_at:
        task.last_status, task.started_at = "RUNNING", utcnow()
        for c in task.containers:
            c.last_status = "RUNNING"
    if task.last_status != "RUNNING":
        return
    if sc.crash and now >= task.sim_running_at + sc.crash_after_seconds \
            and sc.crash_after_seconds < sc.task_seconds:
        _exit(task, sc.exit_code, sc.crash_reason or None, stop_code="EssentialContainerExited",
              stopped_reason="Essential container in task exited")
    elif now >= task.sim_running_at + sc.task_seconds:
        _exit(task, sc.task_exit_code, None, stop_code="EssentialContainerExited",
              stopped_reason="Essential container in task exited")


def tick(_dt: float) -> None:
    for backend in all_backends():
        for cluster_tasks in backend.tasks.values():
            for arn, t in list(cluster_tasks.items()):
                if not isinstance(t, OneOffTask):
                    continue
                _advance(t)
                if t.sim_stopped_at is not None and sim.now - t.sim_stopped_at > STOPPED_TASK_RETENTION:
                    del cluster_tasks[arn]


def install() -> None:
    EC2ContainerServiceBackend.run_task = _run_task
    EC2ContainerServiceResponse.run_task = _run_task_response
    EC2ContainerServiceBackend.describe_tasks = _describe_tasks
    EC2ContainerServiceResponse.describe_tasks = _describe_tasks_response
