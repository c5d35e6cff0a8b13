"""Which target groups an ALB's requests reach: listeners, their rules, weights, stickiness.

Listeners with a forwarding path share the LB's requests evenly; within a listener each rule
takes its share and the default action the rest; each path is split by its ForwardConfig
weights, or, under target-group stickiness, by the weights its clients' cookies were issued
under (see _sticky).
"""
from collections import defaultdict

from .core import sim


def forward_weights(actions) -> dict[str, float] | None:
    """{target group arn: weight} of the first forward action, or None if it does not forward."""
    for action in actions:
        if action.type != "forward":
            continue
        groups = (action.data.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            return {g["TargetGroupArn"]: float(g.get("Weight", 1)) for g in groups}
        if action.data.get("TargetGroupArn"):
            return {action.data["TargetGroupArn"]: 1.0}
        return None
    return None


def stickiness(actions) -> float | None:
    """The forward action's target-group stickiness duration (seconds), None when off."""
    for action in actions:
        if action.type == "forward":
            cfg = (action.data.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {}
            enabled = str(cfg.get("Enabled", "false")).lower() == "true"
            return float(cfg.get("DurationSeconds") or 0) if enabled else None
    return None


def _sticky(lb, key: str, weights: dict[str, float], duration: float | None) -> dict[str, float]:
    """The share each group really gets on a path with target-group stickiness.

    A client keeps the group its AWSALBTG cookie names for the cookie's duration D, whatever
    the weights (AWS re:Post, "ALB to automatically redirect traffic": "Stickiness takes
    precedence over adjusting Weight … This will persists until sticky session expires").
    With cookies issued continuously and each lasting D, the requests now carry cookies issued
    uniformly over the last D seconds, each drawn by the weights of its time: a group's share
    is the average of its weight share over the last D. Without stickiness: the weights.

    Clients are taken to stay as long as their cookie (the least forgiving reading: how long
    real visitors stay is the workload's, not AWS's); `sticky_session_seconds` shortens the
    window to a visit's length, after which a client comes back without a cookie."""
    history = lb.__dict__.setdefault("sim_sticky", {}).setdefault(key, [])
    total = sum(weights.values()) or 1.0
    now_shares = {tg: w / total for tg, w in weights.items()}
    if not history or history[-1][1] != now_shares:
        history.append((sim.now, now_shares))
    if not duration:
        del history[:-1]
        return weights
    if sim.sticky_session_seconds:
        duration = min(duration, sim.sticky_session_seconds)
    start = sim.now - duration
    while len(history) > 1 and history[1][0] <= start:
        history.pop(0)
    shares: dict[str, float] = defaultdict(float)
    for i, (t, s) in enumerate(history):
        seg_start = start if i == 0 else max(t, start)
        seg_end = history[i + 1][0] if i + 1 < len(history) else sim.now
        for tg, share in s.items():
            shares[tg] += share * max(0.0, seg_end - seg_start) / duration
    return dict(shares)


def listener_weights(lb) -> dict[str, dict[str, float]]:
    """{listener arn: {target group arn: weight}} for listeners whose default action forwards."""
    result = {}
    for listener in lb.listeners.values():
        weights = forward_weights(listener.default_actions)
        if weights is not None:
            result[listener.arn] = weights
    return result


def routes(lb) -> list[tuple[float, dict[str, float]]]:
    """(share of the LB's requests, {target group: weight}) for every path that forwards.

    Listeners with a forwarding path share the LB's requests evenly. Within a listener each
    non-default rule (path-pattern, host-header, ...) takes `rule_shares[arn]` of them, by
    default an equal share with the default action (1 / (rules + 1)); the default action gets
    the rest. A rule that does not forward (fixed response, redirect) keeps its share."""
    out = []
    listeners = []
    for listener in lb.listeners.values():
        rules = [r for r in listener._non_default_rules.values()]
        paths = [(r.arn, _effective(lb, r.arn, r.actions)) for r in rules]
        default = _effective(lb, listener.arn, listener.default_actions)
        if default is None and all(w is None for _, w in paths):
            continue
        listeners.append((paths, default))
    for paths, default in listeners:
        per_listener = 1.0 / len(listeners)
        taken = 0.0
        for arn, weights in paths:
            share = sim.rule_shares.get(arn, 1.0 / (len(paths) + 1))
            taken += share
            if weights:
                out.append((per_listener * share, weights))
        if default:
            out.append((per_listener * max(0.0, 1.0 - taken), default))
    return out


def _effective(lb, key: str, actions) -> dict[str, float] | None:
    weights = forward_weights(actions)
    return None if weights is None else _sticky(lb, key, weights, stickiness(actions))
