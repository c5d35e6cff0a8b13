"""The ECS API calls whose moto behaviour the simulated rollouts replace or complete:
CreateService and UpdateService start real deployments (ecs_rollouts), CreateService keeps
its deploymentConfiguration and grace period, ListTasks filters as AWS does."""
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from .ecs_rollouts import DEFAULT_DEPLOYMENT_CONFIGURATION, ServiceSim, _new_deployment, _update_counts

_orig_create_service = EC2ContainerServiceBackend.create_service
_orig_update_service = EC2ContainerServiceBackend.update_service
_orig_list_tasks = EC2ContainerServiceBackend.list_tasks
_orig_create_service_response = EC2ContainerServiceResponse.create_service


def _create_service(self, *args, **kwargs):
    """Replace moto's never-progressing deployment with a real PRIMARY one."""
    service = _orig_create_service(self, *args, **kwargs)
    if service.deployment_controller.get("type") == "ECS" and service.task_definition:
        service.sim = ServiceSim()
        service.deployment_configuration = dict(DEFAULT_DEPLOYMENT_CONFIGURATION)
        service.deployments = []
        _new_deployment(service, service.task_definition)
        _update_counts(self, service)
    return service


def _create_service_response(self):
    """moto drops deploymentConfiguration on CreateService: keep it (circuit breaker included)."""
    result = _orig_create_service_response(self)
    config = self._get_param("deploymentConfiguration")
    grace = self._get_param("healthCheckGracePeriodSeconds")
    if config or grace is not None:
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        if config:
            service.deployment_configuration = {**DEFAULT_DEPLOYMENT_CONFIGURATION, **config}
        if grace is not None:  # moto drops it too; DescribeServices reports it from this attribute
            service.health_check_grace_period_seconds = int(grace)
    return result


def _update_service(self, props: dict):
    """A new task definition or forceNewDeployment starts a deployment; desiredCount alone scales."""
    force = props.pop("force_new_deployment", False)  # moto would rename the current deployment
    service = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
    before = service.task_definition
    grace = props.get("health_check_grace_period_seconds")
    service = _orig_update_service(self, props)
    if grace is not None:
        service.health_check_grace_period_seconds = int(grace)
    if getattr(service, "sim", None) is None:
        return service
    service.task_definition = self.describe_task_definition(service.task_definition).arn  # moto keeps the raw string
    if service.task_definition != before or force:
        _new_deployment(service, service.task_definition)
    service.deployments[0]["desiredCount"] = service.desired_count
    _update_counts(self, service)  # moto claims running == desired at once
    return service


def _list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                service_name=None, desiredStatus=None):
    """moto ignores serviceName, and AWS lists only desiredStatus RUNNING by default."""
    tasks = _orig_list_tasks(self, cluster_str, container_instance, family, started_by, None, desiredStatus or "RUNNING")
    if service_name:
        tasks = [t for t in tasks if getattr(t, "group", None) == f"service:{service_name.split('/')[-1]}"]
    return tasks


def install() -> None:
    EC2ContainerServiceBackend.create_service = _create_service
    EC2ContainerServiceBackend.update_service = _update_service
    EC2ContainerServiceBackend.list_tasks = _list_tasks
    EC2ContainerServiceResponse.create_service = _create_service_response
