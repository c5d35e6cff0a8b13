"""Application Auto Scaling of ECS services: what RegisterScalableTarget does to the service.

moto keeps scalable targets as records only. AWS also acts on the service: RegisterScalableTarget
"changes the resource's current capacity to a value that is inside of this range" unless the
resource is not active (RegisterScalableTarget API Reference). So registering, or updating, a
target whose service runs fewer tasks than MinCapacity scales the service up to it, and one
above MaxCapacity down, whatever SuspendedState says: a call made only to suspend scaling
still clamps (the doc names no exception; the less forgiving reading). A scale here is
UpdateService's desiredCount (no new deployment), recorded as `autoscaling_clamped`.

The scaling policies themselves (target tracking, step scaling) are not simulated; every
registration is recorded (`scalable_target_registered`, with the SuspendedState) so a test can
show scaling suspended for exactly the deploy.
"""
from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.ecs.models import ecs_backends

from .core import sim

_orig_register = ApplicationAutoscalingBackend.register_scalable_target


# RegisterScalableTarget's RoleARN: "If the service supports service-linked roles, Application
# Auto Scaling uses a service-linked role" (API Reference); DescribeScalableTargets always answers
# one (RoleARN is required in the model). ECS's, as the Application Auto Scaling User Guide
# ("Service-linked roles for Application Auto Scaling") names it.
ECS_SERVICE_LINKED_ROLE = ("arn:aws:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                           "AWSServiceRoleForApplicationAutoScaling_ECSService")


def _register(self, namespace, r_id, dimension, min_capacity, max_capacity, role_arn, suspended_state):
    target = _orig_register(self, namespace, r_id, dimension, min_capacity, max_capacity, role_arn, suspended_state)
    if not target.role_arn and namespace == "ecs":
        target.role_arn = ECS_SERVICE_LINKED_ROLE.format(account=self.account_id)
    sim.record("scalable_target_registered", resource=r_id, min=target.min_capacity, max=target.max_capacity,
               suspended=dict(target.suspended_state or {}))
    if namespace == "ecs" and dimension == "ecs:service:DesiredCount":
        _clamp(self.account_id, self.region_name, r_id, target.min_capacity, target.max_capacity)
    return target


def _clamp(account: str, region: str, resource_id: str, low, high) -> None:
    _, cluster, name = resource_id.split("/")
    ecs = ecs_backends[account][region]
    service = ecs._get_service(cluster, name)
    if service.status != "ACTIVE":
        return
    desired = service.desired_count
    clamped = min(max(desired, int(low if low is not None else desired)), int(high if high is not None else desired))
    if clamped != desired:
        ecs.update_service({"cluster": cluster, "service": name, "desired_count": clamped})
        sim.record("autoscaling_clamped", resource=resource_id, desired=clamped, was=desired)


def install() -> None:
    ApplicationAutoscalingBackend.register_scalable_target = _register
