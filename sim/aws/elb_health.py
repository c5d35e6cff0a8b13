"""Target health life-cycle for ELBv2 target groups.

moto reports every registered target `healthy` at once. Here each target goes
`initial` (Elb.RegistrationInProgress) -> `healthy`, or -> `unhealthy`
(Target.FailedHealthChecks) for an unhealthy scenario, after the scenario's
health_seconds; a deregistered target is `draining` for the target group's
deregistration_delay.timeout_seconds, then disappears. A target's scenario is
looked up live from the image of the task behind it; for targets registered via
the RegisterTargets API the target id (IP or instance id) is the "image".

State lives on moto's FakeTargetGroup as `tg.sim_health[target_id]`.

A target whose scenario changes later follows it as the ALB's health checks would: with the
defaults for an ALB target group (HealthCheckIntervalSeconds 30, UnhealthyThresholdCount 2,
HealthyThresholdCount 5; Elastic Load Balancing User Guide, "Health checks for Application
Load Balancer target groups"), healthy -> unhealthy after 2 failed checks (60 s) and back
after 5 passed ones (150 s).
"""
from dataclasses import dataclass

from moto.elbv2 import models as elbv2_models
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

from .core import sim
from .scenarios import Scenario

REASONS = {
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "unhealthy": ("Target.FailedHealthChecks", "Health checks failed"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "healthy": (None, None),
}


@dataclass
class TargetHealth:
    state: str
    since: float  # sim time of the last state change
    image: str
    drain_until: float = 0.0
    turned_at: float | None = None  # sim time the scenario's health last disagreed with the state

    @property
    def scenario(self) -> Scenario:
        return sim.scenario_for(self.image)


def health(tg: FakeTargetGroup) -> dict[str, TargetHealth]:
    return tg.__dict__.setdefault("sim_health", {})


def all_backends():
    for account in list(elbv2_models.elbv2_backends.values()):
        yield from list(account.values())


def find_target_group(account_id: str, region: str, arn: str) -> FakeTargetGroup | None:
    return elbv2_models.elbv2_backends[account_id][region].target_groups.get(arn)


def register(tg: FakeTargetGroup, target_id: str, port: int, image: str, at: float) -> None:
    """Register a task's IP, as ECS does when the task reaches RUNNING."""
    tg.targets[target_id] = {"Id": target_id, "Port": port}
    tg.deregistered_targets.pop(target_id, None)
    health(tg)[target_id] = TargetHealth("initial", at, image)


def begin_draining(tg: FakeTargetGroup, target_id: str) -> None:
    th = health(tg).get(target_id)
    if th and th.state != "draining":
        delay = float(tg.attributes.get("deregistration_delay.timeout_seconds", 300))
        th.state, th.since, th.drain_until = "draining", sim.now, sim.now + delay


def state_of(tg: FakeTargetGroup, target_id: str) -> str | None:
    th = health(tg).get(target_id)
    return th.state if th else None


def tick(_dt: float) -> None:
    for backend in all_backends():
        for tg in list(backend.target_groups.values()):
            hs = health(tg)
            for target_id in tg.targets:  # registered through the API
                hs.setdefault(target_id, TargetHealth("initial", sim.now, target_id))
            for target_id, th in list(hs.items()):
                if target_id not in tg.targets:  # gone another way (the group's targets replaced)
                    del hs[target_id]
                elif th.state == "initial" and sim.now >= th.since + th.scenario.health_seconds:
                    th.state = "unhealthy" if th.scenario.unhealthy else "healthy"
                    th.since = sim.now
                    sim.record(f"target_{th.state}", target_group=tg.arn, target=target_id, image=th.image)
                elif th.state in ("healthy", "unhealthy"):
                    _follow_scenario(tg, target_id, th)
                elif th.state == "draining" and sim.now >= th.drain_until:
                    del tg.targets[target_id]
                    del hs[target_id]
                    sim.record("target_deregistered", target_group=tg.arn, target=target_id)


UNHEALTHY_AFTER, HEALTHY_AFTER = 2 * 30.0, 5 * 30.0  # thresholds x interval, ALB defaults


def _follow_scenario(tg, target_id: str, th: TargetHealth) -> None:
    want = "unhealthy" if th.scenario.unhealthy else "healthy"
    if want == th.state:
        th.turned_at = None
        return
    th.turned_at = sim.now if th.turned_at is None else th.turned_at
    if sim.now >= th.turned_at + (UNHEALTHY_AFTER if want == "unhealthy" else HEALTHY_AFTER):
        th.state, th.since, th.turned_at = want, sim.now, None
        sim.record(f"target_{want}", target_group=tg.arn, target=target_id, image=th.image)


# --- moto patch: DescribeTargetHealth reports the simulated state -----------------------
_orig_health_for = FakeTargetGroup.health_for


def _health_for(self, target, ec2_backend):
    if target["Id"] not in self.targets:
        return _orig_health_for(self, target, ec2_backend)
    # A target registered through the API since the last tick is `initial` already (moto would
    # call it healthy at once).
    th = health(self).setdefault(target["Id"], TargetHealth("initial", sim.now, target["Id"]))
    t = self.targets[target["Id"]]
    reason, description = REASONS[th.state]
    return FakeHealthStatus(t["Id"], t["Port"], self.health_check_port, th.state, reason, description)


def _deregister_targets(self, target_group_arn, instances):
    """DeregisterTargets: a registered target drains for the group's deregistration delay (no
    new requests, `draining` in DescribeTargetHealth), then is gone, as ECS's own deregistration
    does here; moto removed it at once (issue 29, item 3). Source: Elastic Load Balancing User
    Guide, "Deregistration delay" ("Elastic Load Balancing stops sending requests to targets
    that are deregistering … the target is in the draining state")."""
    from moto.elbv2.exceptions import InvalidTargetError, TargetGroupNotFoundError

    tg = self.target_groups.get(target_group_arn)
    if tg is None:
        raise TargetGroupNotFoundError()
    for target in instances:
        if target["Id"] not in tg.targets:
            raise InvalidTargetError()
    for target in instances:
        health(tg).setdefault(target["Id"], TargetHealth("initial", sim.now, target["Id"]))
        begin_draining(tg, target["Id"])


def install() -> None:
    FakeTargetGroup.health_for = _health_for
    elbv2_models.ELBv2Backend.deregister_targets = _deregister_targets
