"""Deployment alarms on rolling deployments (ECS controller, ROLLING).

AWS ("How CloudWatch alarms detect Amazon ECS deployment failures", Amazon ECS Developer
Guide; API Reference, DeploymentAlarms):
- `deploymentConfiguration.alarms` {alarmNames, enable, rollback}: with `enable`, ECS sets the
  deployment to FAILED when one of the alarms goes into ALARM; with `rollback`, it rolls the
  service back to the last COMPLETED deployment. "A deployment in the FAILED state doesn't
  launch any new tasks."
- "The bake time is a period of time after a new service version has scaled out and the old
  service version has scaled in, during which Amazon ECS continues to monitor the alarm ...
  Amazon ECS computes this time period based on the alarm configuration": the rollout stays
  IN_PROGRESS through it and becomes COMPLETED after it.

AWS does not publish the bake time's formula. The simulator takes the longest
Period x EvaluationPeriods of the named alarms (the time one alarm needs to judge a full
evaluation range), the reading under which a follower that calls a deployment done before
COMPLETED is caught. A named alarm that does not exist adds nothing. A rollback deployment is
not watched (it is the way back, and AWS documents no second rollback).
"""
from moto.cloudwatch import models as cw_models

from .core import sim


def _config(service) -> dict:
    return (getattr(service, "deployment_configuration", None) or {}).get("alarms") or {}


def enabled(service) -> bool:
    return bool(_config(service).get("enable"))


def rolls_back(service) -> bool:
    return enabled(service) and bool(_config(service).get("rollback"))


def _alarms(service) -> list:
    cw = cw_models.cloudwatch_backends[service._account_id][service.region_name]
    return [a for a in (cw.alarms.get(n) for n in _config(service).get("alarmNames") or []) if a is not None]


def firing(service) -> str | None:
    """The first named alarm in ALARM, when the method is enabled."""
    if not enabled(service):
        return None
    return next((a.name for a in _alarms(service) if a.state_value == "ALARM"), None)


def bake_seconds(service) -> float:
    if not enabled(service):
        return 0.0
    return float(max((int(a.period) * int(a.evaluation_periods) for a in _alarms(service)), default=0))


def baked(service, dep: dict) -> bool:
    """Whether `dep`, steady with the old tasks gone, has baked: the bake starts the first time
    this is asked and ends bake_seconds of simulated time later."""
    if not enabled(service) or dep["id"] in service.sim.rollback_deployments:
        return True
    start = service.sim.bake_started.setdefault(dep["id"], sim.now)
    return sim.now - start >= bake_seconds(service)
