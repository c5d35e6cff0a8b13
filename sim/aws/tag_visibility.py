"""ECS tags are eventually consistent: another caller sees a tag change only after a delay.

The ECS API "follows an eventual consistency model … the result of an API command you run
that affects your Amazon ECS resources might not be immediately visible to all subsequent
commands you run" (ECS API Reference, e.g. RunTask). AWS gives no figure; EC2's guide tells
callers to expect seconds. Here a TagResource/UntagResource on an ECS resource is seen by
the caller that made it at once (read-your-writes), and by every other access key only
`tag_visibility_seconds` (simulated, default 2.5) later; until then ListTagsForResource shows
them the value before the change. The deploy lock is built against exactly this bound.
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


def view(info: dict, params: dict, status: int, body: bytes) -> bytes:
    """A ListTagsForResource answer as this caller may see it now."""
    if info["service"] != "ecs" or info["operation"] != "ListTagsForResource" or not 200 <= status < 300:
        return body
    delay = sim.tag_visibility_seconds / sim.time_scale
    now, arn, me = time.time(), params.get("resourceArn", ""), info["access_key"]
    writes = [w for w in sim.tag_writes if w["arn"] == arn]
    hidden = {}
    for w in sorted(writes, key=lambda w: w["at"], reverse=True):
        mine_later = any(o["writer"] == me and o["key"] == w["key"] and o["at"] >= w["at"] for o in writes)
        if w["writer"] != me and now - w["at"] < delay and not mine_later:
            hidden[w["key"]] = w["previous"]  # older hidden writes overwrite: the value before them all
    if not hidden:
        return body
    answer = json.loads(body)
    tags = {t["key"]: t["value"] for t in answer.get("tags", [])}
    for key, previous in hidden.items():
        if previous is None:
            tags.pop(key, None)
        else:
            tags[key] = previous
    answer["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    return json.dumps(answer).encode()
