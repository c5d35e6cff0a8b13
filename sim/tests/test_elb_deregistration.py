"""DeregisterTargets drains (issue 29, item 3). Source: Elastic Load Balancing User Guide,
"Deregistration delay": the load balancer stops sending new requests to a deregistering
target, which is `draining` (Target.DeregistrationInProgress) until the delay
(deregistration_delay.timeout_seconds, 300 by default) has passed; then it is gone.
"""
import time

from aws_sim import alb, server, sim  # noqa: F401 (fixtures)
from test_elb_metrics_alarms import health


def test_a_deregistered_target_drains_for_the_delay_then_is_gone(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60})
    elb = sim.client("elbv2")
    _, (tg,), _ = alb(sim, "lb-dereg", ["tg-dereg"])
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "180"}])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.3.1"}, {"Id": "10.9.3.2"}])
    sim.wait(lambda: all(h["State"] == "healthy" for h in health(sim, tg).values()), what="healthy")
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.3.1"}])
    started = time.time()
    assert health(sim, tg)["10.9.3.1"] == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                                           "Description": "Target deregistration is in progress"}
    assert health(sim, tg)["10.9.3.2"]["State"] == "healthy"
    sim.wait(lambda: "10.9.3.1" not in health(sim, tg), timeout=15, what="the target gone after its delay")
    assert time.time() - started > 2.5, "180 simulated seconds are 3 real ones at scale 60"
    events = [e for e in sim.call("GET", "/_sim/events") if e["type"] == "target_deregistered"]
    assert any(e["target"] == "10.9.3.1" for e in events)
