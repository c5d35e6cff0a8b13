"""AWS's input limits that moto does not enforce, checked before moto sees a call.

- ELBv2 forward actions (ModifyListener, ModifyRule, CreateListener, CreateRule): at most 5
  target groups, each weight 0-999. Source: ELBv2 API Reference, TargetGroupTuple ("Weight …
  The range is 0 to 999") and "Quotas for your Application Load Balancers" (target groups per
  action: 5).
- ECS tags (TagResource, and tags on Register/Create calls): at most 50 per resource, keys of
  1-128 and values of 0-256 characters, and the `aws:` prefix is reserved. Source: ECS API
  Reference, Tag ("Maximum number of tags per resource - 50 … Maximum key length - 128 …
  Maximum value length - 256 … Do not use aws:, AWS:, or any upper or lowercase combination of
  such as a prefix for either keys or values as it is reserved for AWS use").
Refusals are AWS's: ELBv2 `ValidationError` (query XML, 400), ECS `InvalidParameterException`.
"""
import json
import re
import uuid

from . import ecs_arns

ACCOUNT = "123456789012"
MAX_TARGET_GROUPS, MAX_WEIGHT = 5, 999
MAX_TAGS, MAX_KEY, MAX_VALUE = 50, 128, 256
ACTION_KEY = re.compile(r"^(DefaultActions|Actions)\.member\.(\d+)\.ForwardConfig\.TargetGroups\.member\.(\d+)\.(\w+)$")


def problem(info: dict, params: dict) -> str | None:
    """Why AWS would refuse this call's input, or None."""
    service, operation = info["service"], info["operation"]
    if service == "elasticloadbalancing" and operation in ("ModifyListener", "ModifyRule", "CreateListener", "CreateRule"):
        return _forward(params)
    if service == "ecs" and operation in ("TagResource", "UntagResource", "ListTagsForResource") \
            and ecs_arns.refuses_tags(params):
        return "Long arn format must be used for tagging operations"
    if service == "ecs" and params.get("tags"):
        return _ecs_tags(params, info.get("region") or "us-east-1", operation)
    return None


def _forward(params: dict) -> str | None:
    groups: dict = {}
    for key, value in params.items():
        m = ACTION_KEY.match(key)
        if m:
            groups.setdefault((m.group(1), m.group(2)), {}).setdefault(m.group(3), {})[m.group(4)] = value
    for tuples in groups.values():
        if len(tuples) > MAX_TARGET_GROUPS:
            return f"You cannot specify more than {MAX_TARGET_GROUPS} target groups in a forward action"
        for t in tuples.values():
            weight = int(t.get("Weight", 1))
            if not 0 <= weight <= MAX_WEIGHT:
                return f"Target group weight '{weight}' must be between 0 and {MAX_WEIGHT}"
    return None


def _ecs_tags(params: dict, region: str, operation: str) -> str | None:
    tags = params["tags"]
    for t in tags:
        key, value = t.get("key", ""), t.get("value", "")
        if not 1 <= len(key) <= MAX_KEY or len(value) > MAX_VALUE:
            return f"Tag key must be 1-{MAX_KEY} characters and its value at most {MAX_VALUE}: '{key[:40]}'"
        if key.lower().startswith("aws:") or value.lower().startswith("aws:"):
            return "Tag keys and values may not start with the reserved prefix 'aws:'"
    existing = set()
    if operation == "TagResource":
        from moto.ecs.models import ecs_backends

        try:
            account = params["resourceArn"].split(":")[4]
            existing = {t["key"] for t in ecs_backends[account][region].list_tags_for_resource(params["resourceArn"])}
        except Exception:  # an unknown resource is moto's to refuse
            existing = set()
    if len(existing | {t.get("key") for t in tags}) > MAX_TAGS:
        return f"A resource can have at most {MAX_TAGS} tags"
    return None


def refusal(info: dict, message: str):
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if info["json"]:
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        body = json.dumps({"__type": "InvalidParameterException", "message": message})
    else:
        headers.append(("Content-Type", "text/xml"))
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{message}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return "400 Bad Request", headers, body.encode()
