"""JSON control API under /_sim (see README.md for the full list)."""
import json
from urllib.parse import parse_qs

from moto.moto_api._internal.models import moto_api_backend

from . import cw_clock, iam_policy
from .core import sim
from .faults import Fault
from .scenarios import Scenario


def reset_all() -> None:
    """moto's own reset plus all simulator state."""
    with sim.lock:
        moto_api_backend.reset()
        sim.reset()
        cw_clock.reset()


def _calls(query):
    key = query.get("access_key", [None])[0]
    return [c for c in sim.calls if key is None or c["access_key"] == key]


def _put_config(body):
    if "time_scale" in body:
        if float(body["time_scale"]) <= 0:
            raise ValueError("time_scale must be > 0")
        sim.time_scale = float(body["time_scale"])
    if "requests_per_minute" in body:
        sim.requests_per_minute = float(body["requests_per_minute"])
    if "requests_per_minute_by_lb" in body:
        sim.requests_per_minute_by_lb = {k: float(v) for k, v in body["requests_per_minute_by_lb"].items()}
    if "tag_visibility_seconds" in body:
        if float(body["tag_visibility_seconds"]) < 0:
            raise ValueError("tag_visibility_seconds must be >= 0")
        sim.tag_visibility_seconds = float(body["tag_visibility_seconds"])
    if "parameter_visibility_seconds" in body:
        if float(body["parameter_visibility_seconds"]) < 0:
            raise ValueError("parameter_visibility_seconds must be >= 0")
        sim.parameter_visibility_seconds = float(body["parameter_visibility_seconds"])
    if "sticky_session_seconds" in body:
        value = body["sticky_session_seconds"]
        if value is not None and float(value) <= 0:
            raise ValueError("sticky_session_seconds must be > 0 (or null: as long as the cookie)")
        sim.sticky_session_seconds = None if value is None else float(value)
    if "traffic_seed" in body:
        sim.traffic_seed = int(body["traffic_seed"])
        sim.traffic_rng.seed(sim.traffic_seed)
    if "rule_shares" in body:
        shares = {k: float(v) for k, v in body["rule_shares"].items()}
        if any(not 0.0 <= v <= 1.0 for v in shares.values()):
            raise ValueError("a rule's share is between 0 and 1")
        sim.rule_shares = {**sim.rule_shares, **shares}
    return _config()


def _config():
    return {"time_scale": sim.time_scale, "requests_per_minute": sim.requests_per_minute,
            "requests_per_minute_by_lb": sim.requests_per_minute_by_lb, "rule_shares": sim.rule_shares,
            "sticky_session_seconds": sim.sticky_session_seconds,
            "tag_visibility_seconds": sim.tag_visibility_seconds,
            "parameter_visibility_seconds": sim.parameter_visibility_seconds, "traffic_seed": sim.traffic_seed,
            "sim_time": sim.now, "answers_checked": sim.answers_checked}


def _put_scenarios(body):
    for key, fields in body.items():
        Scenario.from_dict({**sim.scenarios.get(key, {}), **fields})  # validate
        sim.scenarios[key] = {**sim.scenarios.get(key, {}), **fields}
    return sim.scenarios


def _put_faults(query, body):
    """Replaces all faults; with ?access_key=K only those scoped to K (their access_key is set to K)."""
    key = query.get("access_key", [None])[0]
    if key is None:
        sim.faults = [Fault(**f) for f in body]
        return [vars(f) for f in sim.faults]
    mine = [Fault(**{**f, "access_key": key}) for f in body]
    sim.faults = [f for f in sim.faults if f.access_key != key] + mine
    return [vars(f) for f in mine]


def _get_faults(query):
    key = query.get("access_key", [None])[0]
    return [vars(f) for f in sim.faults if key is None or f.access_key == key]


def _delete_faults(query):
    key = query.get("access_key", [None])[0]
    sim.faults = [] if key is None else [f for f in sim.faults if f.access_key != key]
    return {}


def _events(query):
    since = float(query.get("since", ["0"])[0])
    return [e for e in sim.events if e["at"] > since]


def _clear(attr, value):
    def clear():
        setattr(sim, attr, value)
        return {}
    return clear


ROUTES = {
    ("GET", "/_sim/health"): lambda q, b: {"ok": True, "sim_time": sim.now},
    ("POST", "/_sim/reset"): lambda q, b: reset_all() or {},
    ("GET", "/_sim/config"): lambda q, b: _config(),
    ("PUT", "/_sim/config"): lambda q, b: _put_config(b),
    ("GET", "/_sim/scenarios"): lambda q, b: sim.scenarios,
    ("PUT", "/_sim/scenarios"): lambda q, b: _put_scenarios(b),
    ("DELETE", "/_sim/scenarios"): lambda q, b: _clear("scenarios", {})(),
    ("GET", "/_sim/faults"): lambda q, b: _get_faults(q),
    ("PUT", "/_sim/faults"): lambda q, b: _put_faults(q, b),
    ("DELETE", "/_sim/faults"): lambda q, b: _delete_faults(q),
    ("GET", "/_sim/calls"): lambda q, b: _calls(q),
    ("DELETE", "/_sim/calls"): lambda q, b: _clear("calls", [])(),
    ("GET", "/_sim/events"): lambda q, b: _events(q),
    ("GET", "/_sim/model-violations"): lambda q, b: [
        v for v in sim.model_violations if v["access_key"] == q.get("access_key", [v["access_key"]])[0]],
    ("POST", "/_sim/iam/role"): lambda q, b: iam_policy.create_role(b["account"], b["name"], b["trust"]) or {},
    ("PUT", "/_sim/iam"): lambda q, b: (iam_policy.bind_role(b["role_arn"], b.get("policy"), b.get("template"))
                                        if "role_arn" in b else
                                        iam_policy.bind(b["access_key"], b.get("policy"), b.get("template"))) or {},
}


def handle(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"].rstrip("/")
    route = ROUTES.get((method, path))
    status = "200 OK"
    if route is None:
        status, result = "404 Not Found", {"error": f"no route {method} {path}"}
    else:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            body = json.loads(raw) if raw.strip() else {}
            with sim.lock:
                result = route(parse_qs(environ.get("QUERY_STRING", "")), body)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            status, result = "400 Bad Request", {"error": str(e)}
    data = json.dumps(result).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
