"""Application Auto Scaling: registering a target clamps the service's count into its range."""
from aws_sim import describe, register, service, server, sim  # noqa: F401 (fixtures)

SUSPENDED = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}


def test_registering_a_range_clamps_the_count_and_suspending_is_recorded(sim):
    ecs = service(sim, "web", register(sim.client("ecs"), "repo/web:v1"), desired=0)
    aas = sim.client("application-autoscaling")
    rid = "service/c1/web"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 MinCapacity=0, MaxCapacity=4)
    assert describe(ecs, "web")["desiredCount"] == 0
    # Only suspending, on a range whose minimum is above the count: the count is clamped too.
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 MinCapacity=2)
    assert describe(ecs, "web")["desiredCount"] == 2
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 SuspendedState=SUSPENDED)
    target = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid])["ScalableTargets"][0]
    assert target["SuspendedState"] == SUSPENDED and target["MinCapacity"] == 2 and target["MaxCapacity"] == 4
    events = [e for e in sim.call("GET", "/_sim/events") if e["type"] == "scalable_target_registered"]
    assert [e["suspended"] for e in events][-1] == SUSPENDED
