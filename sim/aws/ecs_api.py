"""The ECS API calls whose moto behaviour the simulated rollouts replace or complete:
CreateService and UpdateService start real deployments (ecs_rollouts; ecs_native for the
BLUE_GREEN, LINEAR and CANARY strategies), CreateService keeps its deploymentConfiguration and
grace period, ListTasks filters as AWS does; the service-deployment calls moto lacks
(List/DescribeServiceDeployments, Stop/ContinueServiceDeployment, DescribeServiceRevisions)."""
import json

from moto.ec2.models import ec2_backends
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from . import ecs_native, ecs_rolling_records, ecs_service_deployments as deployments
from .ecs_rollouts import DEFAULT_DEPLOYMENT_CONFIGURATION, ServiceSim, _new_deployment, _update_counts


class ServiceDeploymentNotFound(ECSException):
    def __init__(self, arn: str):
        super().__init__("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")

_orig_create_service = EC2ContainerServiceBackend.create_service
_orig_update_service = EC2ContainerServiceBackend.update_service
_orig_list_tasks = EC2ContainerServiceBackend.list_tasks
_orig_create_service_response = EC2ContainerServiceResponse.create_service


def _with_default_security_group(backend, network: dict | None) -> dict | None:
    """AwsVpcConfiguration.securityGroups (ECS API Reference): "If you don't specify a security
    group, the default security group for the VPC is used." moto answers HTTP 500 instead."""
    c = (network or {}).get("awsvpcConfiguration")
    if not c or c.get("securityGroups") or not c.get("subnets"):
        return network
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    try:
        vpc = ec2.get_subnet(c["subnets"][0]).vpc_id
    except Exception:
        return network  # moto's own validation names the subnet that does not exist
    group = ec2.get_default_security_group(vpc)
    return {**network, "awsvpcConfiguration": {**c, "securityGroups": [group.id] if group else []}}


def _create_service(self, *args, **kwargs):
    """Replace moto's never-progressing deployment with a real PRIMARY one."""
    if "network_configuration" in kwargs:
        kwargs["network_configuration"] = _with_default_security_group(self, kwargs["network_configuration"])
    service = _orig_create_service(self, *args, **kwargs)
    # A CODE_DEPLOY service's first task set runs like a deployment here (codedeploy_ecs).
    if service.deployment_controller.get("type") in ("ECS", "CODE_DEPLOY") and service.task_definition:
        service.sim = ServiceSim()
        service.deployment_configuration = dict(DEFAULT_DEPLOYMENT_CONFIGURATION)
        service.deployments = []
        # Its service deployment is recorded once the configuration is known (below).
        _new_deployment(service, service.task_definition, record=False)
        _update_counts(self, service)
    return service


def _create_service_response(self):
    """moto drops deploymentConfiguration on CreateService: keep it (circuit breaker included)."""
    ecs_native.validate(self._get_param("deploymentConfiguration") or {}, self._get_param("loadBalancers") or [])
    result = _orig_create_service_response(self)
    config = self._get_param("deploymentConfiguration")
    grace = self._get_param("healthCheckGracePeriodSeconds")
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
    if config:
        service.deployment_configuration = {**DEFAULT_DEPLOYMENT_CONFIGURATION, **config}
    if grace is not None:  # moto drops it too; DescribeServices reports it from this attribute
        service.health_check_grace_period_seconds = int(grace)
    if getattr(service, "sim", None) is not None and service.deployments:
        ecs_rolling_records.started(service, service.deployments[0], None)
    return result


def _update_service(self, props: dict):
    """A new task definition or forceNewDeployment starts a deployment; desiredCount alone scales."""
    force = props.pop("force_new_deployment", False)  # moto would rename the current deployment
    service = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
    before = service.task_definition
    grace = props.get("health_check_grace_period_seconds")
    config = {**DEFAULT_DEPLOYMENT_CONFIGURATION, **(props.get("deployment_configuration") or service.deployment_configuration or {})}
    new_td = props.get("task_definition")
    deploys = force or (new_td is not None and self.describe_task_definition(new_td).arn != before)
    if deploys and (service.deployment_controller or {}).get("type") == "CODE_DEPLOY":
        raise InvalidParameterException("Cannot update task definition on services with a CODE_DEPLOY deployment "
                                        "controller. Use AWS CodeDeploy to trigger a new deployment.")
    native = ecs_native.strategy_of(config) in ecs_native.NATIVE
    if native:  # refused before moto changes anything
        ecs_native.validate(config, props.get("load_balancers") or service.load_balancers)
        if deploys:
            ecs_native.refuse_if_in_progress(self, service)
    service = _orig_update_service(self, props)
    if props.get("deployment_configuration") is not None:
        service.deployment_configuration = config
    if grace is not None:
        service.health_check_grace_period_seconds = int(grace)
    if getattr(service, "sim", None) is None:
        return service
    service.task_definition = self.describe_task_definition(service.task_definition).arn  # moto keeps the raw string
    if deploys and native:
        ecs_native.start(self, service, service.task_definition)
    elif deploys:
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


# --- service deployments (moto has none) ----------------------------------------------------
def _answer(body: dict) -> str:
    return json.dumps(body)


def _list_service_deployments(self):
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
    statuses = self._get_param("status") or []
    briefs = [{k: sd[k] for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt",
                                  "finishedAt", "status", "statusReason") if k in sd}
              | {"targetServiceRevisionArn": sd["targetServiceRevision"]["arn"]}
              for sd in deployments.list_for(service.arn, statuses)]
    limit = int(self._get_param("maxResults") or 20)
    return _answer({"serviceDeployments": briefs[:limit]})


def _describe_service_deployments(self):
    found, failures = [], []
    for arn in self._get_param("serviceDeploymentArns") or []:
        sd = deployments.find(arn)
        if sd is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(deployments.public(sd))
    return _answer({"serviceDeployments": found, "failures": failures})


def _stop_service_deployment(self):
    arn = self._get_param("serviceDeploymentArn")
    sd = deployments.find(arn)
    if sd is None:
        raise ServiceDeploymentNotFound(arn)
    deployments.stop(sd, self._get_param("stopType") or "ROLLBACK")
    return _answer({"serviceDeploymentArn": arn})


def _continue_service_deployment(self):
    arn = self._get_param("serviceDeploymentArn")
    sd = deployments.find(arn)
    if sd is None:
        raise ServiceDeploymentNotFound(arn)
    deployments.continue_hook(sd, self._get_param("hookId"), self._get_param("action") or "CONTINUE")
    return _answer({"serviceDeploymentArn": arn})


def _describe_service_revisions(self):
    found, failures = [], []
    for arn in self._get_param("serviceRevisionArns") or []:
        rev = deployments.revision(arn)
        if rev is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(rev)
    return _answer({"serviceRevisions": found, "failures": failures})


def install() -> None:
    EC2ContainerServiceResponse.list_service_deployments = _list_service_deployments
    EC2ContainerServiceResponse.describe_service_deployments = _describe_service_deployments
    EC2ContainerServiceResponse.stop_service_deployment = _stop_service_deployment
    EC2ContainerServiceResponse.continue_service_deployment = _continue_service_deployment
    EC2ContainerServiceResponse.describe_service_revisions = _describe_service_revisions
    EC2ContainerServiceBackend.create_service = _create_service
    EC2ContainerServiceBackend.update_service = _update_service
    EC2ContainerServiceBackend.list_tasks = _list_tasks
    EC2ContainerServiceResponse.create_service = _create_service_response
