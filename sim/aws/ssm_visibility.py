"""Parameter Store reads may lag other callers' writes.

AWS does not document GetParameters as strongly consistent, so the simulator takes the less
forgiving reading, as it does for ECS tags (tag_visibility.py): a PutParameter is seen by the
caller that made it at once, and by every other access key only `parameter_visibility_seconds`
(simulated, default 2.5) later. Until then GetParameters answers that caller with the newest
version it may see (or lists the name under InvalidParameters, if it may see none), and a
`name:version` selector of a hidden version is invalid. Writes are never stale: PutParameter
numbers versions and refuses `Overwrite: false` on an existing name whatever a read showed,
which is what the deploy lock's compare-and-swap rests on.
"""
import datetime
import json
import time

from .core import sim

KEPT_SECONDS = 60.0  # real seconds a write is remembered (far beyond any visibility delay)


def after_write(info: dict, params: dict, status: int, body: bytes) -> None:
    if info["service"] != "ssm" or info["operation"] != "PutParameter" or not 200 <= status < 300:
        return
    now = time.time()
    sim.parameter_writes.append({"name": params.get("Name", ""), "version": json.loads(body).get("Version"),
                                 "at": now, "writer": info["access_key"]})
    sim.parameter_writes[:] = [w for w in sim.parameter_writes if now - w["at"] < KEPT_SECONDS]


def _hidden(me: str, now: float) -> set:
    """(name, version) of the writes `me` may not see yet."""
    delay = sim.parameter_visibility_seconds / sim.time_scale
    return {(w["name"], w["version"]) for w in sim.parameter_writes
            if w["writer"] != me and now - w["at"] < delay}


def _versions(info: dict, name: str) -> list:
    from moto.ssm.models import ssm_backends

    from .iam_policy import caller
    backend = ssm_backends[caller(info["access_key"])[0]][info.get("region") or "us-east-1"]
    return list(backend._parameters.get(name, []))


def view(info: dict, params: dict, status: int, body: bytes) -> bytes:
    """A GetParameters answer as this caller may see it now."""
    if info["service"] != "ssm" or info["operation"] != "GetParameters" or not 200 <= status < 300:
        return body
    hidden = _hidden(info["access_key"], time.time())
    if not hidden:
        return body
    answer = json.loads(body)
    invalid = list(answer.get("InvalidParameters") or [])
    requested = {}
    for asked in params.get("Names") or []:
        name, _, selector = asked.partition(":")
        requested.setdefault(name, []).append((asked, selector))
    kept = []
    for p in answer.get("Parameters") or []:
        if (p["Name"], p["Version"]) not in hidden:
            kept.append(p)
            continue
        for asked, selector in requested.get(p["Name"], []):
            if selector:  # this very version was asked for: not there yet
                if selector == str(p["Version"]):
                    invalid.append(asked)
                continue
            older = [v for v in _versions(info, p["Name"]) if (p["Name"], v.version) not in hidden]
            if older:
                kept.append(older[-1].response_object(False, info.get("region") or "us-east-1"))
            else:
                invalid.append(asked)
    answer["Parameters"] = kept
    answer["InvalidParameters"] = invalid
    return json.dumps(answer, default=_epoch).encode()


def _epoch(value):
    """awsJson timestamps are epoch seconds (moto's objects hold datetimes)."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")
