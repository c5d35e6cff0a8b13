"""ECS tags are eventually consistent: another caller sees a tag change only after a delay.

The ECS API "follows an eventual consistency model … the result of an API command you run
that affects your Amazon ECS resources might not be immediately visible to all subsequent
commands you run" (ECS API Reference, e.g. RunTask). AWS gives no figure; EC2's guide tells
callers to expect seconds. Here a TagResource/UntagResource on an ECS resource is seen by
the caller that made it at once (read-your-writes), and by every other access key only
`tag_visibility_seconds` (simulated, default 2.5) later; until then ListTagsForResource shows
them the value before the change, and so does DescribeServices with `include: [TAGS]`. The
deploy lock is built against exactly this bound.
"""
import json
import time

from .core import sim

KEPT_SECONDS = 60.0  # real seconds a write is remembered (far beyond any visibility delay)


def before_write(info: dict, params: dict) -> dict | None:
    """The tags a Tag/UntagResource is about to change, with their values now."""
    if info["service"] != "ecs" or info["operation"] not in ("TagResource", "UntagResource"):
        return None
    from moto.ecs.models import ecs_backends

    arn = params.get("resourceArn", "")
    try:
        account = arn.split(":")[4]  # the resource's own account (a stage's, through its role)
        current = {t["key"]: t["value"] for t in
                   ecs_backends[account][info.get("region") or "us-east-1"].list_tags_for_resource(arn)}
    except Exception:
        return None
    keys = [t.get("key") for t in params.get("tags") or []] or list(params.get("tagKeys") or [])
    return {"arn": arn, "previous": {k: current.get(k) for k in keys}}


def after_write(info: dict, pending: dict | None, status: int) -> None:
    if pending is None or not 200 <= status < 300:
        return
    now = time.time()
    for key, previous in pending["previous"].items():
        sim.tag_writes.append({"arn": pending["arn"], "key": key, "previous": previous,
                               "at": now, "writer": info["access_key"]})
    sim.tag_writes[:] = [w for w in sim.tag_writes if now - w["at"] < KEPT_SECONDS]


def _as_seen(tags: list, arn: str, me: str, now: float) -> list:
    """`tags` of `arn` as the caller `me` may see them at `now`."""
    delay = sim.tag_visibility_seconds / sim.time_scale
    writes = [w for w in sim.tag_writes if w["arn"] == arn]
    hidden = {}
    for w in sorted(writes, key=lambda w: w["at"], reverse=True):
        mine_later = any(o["writer"] == me and o["key"] == w["key"] and o["at"] >= w["at"] for o in writes)
        if w["writer"] != me and now - w["at"] < delay and not mine_later:
            hidden[w["key"]] = w["previous"]  # older hidden writes overwrite: the value before them all
    if not hidden:
        return tags
    seen = {t["key"]: t["value"] for t in tags}
    for key, previous in hidden.items():
        if previous is None:
            seen.pop(key, None)
        else:
            seen[key] = previous
    return [{"key": k, "value": v} for k, v in seen.items()]


def view(info: dict, params: dict, status: int, body: bytes) -> bytes:
    """A ListTagsForResource answer, or the tags of a DescribeServices with include TAGS, as
    this caller may see them now: both read the same eventually consistent tags."""
    if info["service"] != "ecs" or not 200 <= status < 300:
        return body
    now, me = time.time(), info["access_key"]
    if info["operation"] == "ListTagsForResource":
        answer = json.loads(body)
        answer["tags"] = _as_seen(answer.get("tags", []), params.get("resourceArn", ""), me, now)
        return json.dumps(answer).encode()
    if info["operation"] == "DescribeServices" and "TAGS" in (params.get("include") or []):
        answer = json.loads(body)
        for service in answer.get("services", []):
            if "tags" in service or any(w["arn"] == service.get("serviceArn") for w in sim.tag_writes):
                service["tags"] = _as_seen(service.get("tags", []), service.get("serviceArn", ""), me, now)
        return json.dumps(answer).encode()
    return body
