"""Every answer checked against AWS's own service models (botocore's), as prism checks GitHub's.

Each successful answer is parsed with botocore's parser for the call's protocol and checked
against the operation's output shape: required members present, enum values among the
model's, numbers, booleans, timestamps and strings where the model says so. Problems are kept
per access key (GET /_sim/model-violations?access_key=…); the integration tests fail a run
whose answers broke the model, so the action is never tested against an answer AWS could not
give.
"""
import datetime

import botocore.session
from botocore.parsers import create_parser

from .core import sim

SERVICE = {"ecs": "ecs", "ecr": "ecr", "elasticloadbalancing": "elbv2", "monitoring": "cloudwatch", "ssm": "ssm",
           "codedeploy": "codedeploy", "application-autoscaling": "application-autoscaling", "sts": "sts"}
MAX_KEPT = 200
_session = botocore.session.get_session()
_models: dict = {}


def _model(service: str):
    if service not in _models:
        _models[service] = _session.get_service_model(service)
    return _models[service]


def check(info: dict, status: int, headers: list, body: bytes) -> None:
    """Records what in this answer AWS's model does not allow (successful answers only)."""
    service = SERVICE.get(info.get("service") or "")
    if service is None or not info.get("operation") or not 200 <= status < 300:
        return
    model = _model(service)
    try:
        op = model.operation_model(info["operation"])
    except Exception:
        return  # not an operation of this service's model (moto's extras)
    protocol = "json" if info["json"] else "query"
    response = {"body": body, "headers": {k.lower(): v for k, v in headers}, "status_code": status}
    try:
        parsed = create_parser(protocol).parse(response, op.output_shape)
    except Exception as e:  # an answer botocore cannot even parse
        _keep(info, [f"unparseable {protocol} answer: {e}"])
        return
    sim.answers_checked += 1
    if op.output_shape is not None:
        problems = problems_in(parsed, op.output_shape, info["operation"])
        if problems:
            _keep(info, problems)


def problems_in(value, shape, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        out = [f"{path}.{m}: required by the model, missing" for m in shape.required_members if m not in value]
        for name, member in shape.members.items():
            if name in value and name != "ResponseMetadata":
                out += problems_in(value[name], member, f"{path}.{name}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, v in enumerate(value) for p in problems_in(v, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [p for k, v in value.items() for p in problems_in(v, shape.value, f"{path}[{k}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} is not one of the model's values {shape.enum}"]
        return []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an integer, got {value!r}"]
    if kind in ("double", "float"):
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: expected a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind == "timestamp":
        return [] if isinstance(value, datetime.datetime) else [f"{path}: expected a timestamp, got {value!r}"]
    return []


def _keep(info: dict, problems: list[str]) -> None:
    with sim.lock:
        sim.model_violations.append({"access_key": info.get("access_key"), "service": info.get("service"),
                                     "operation": info["operation"], "problems": problems[:20]})
        del sim.model_violations[:-MAX_KEPT]
