"""`judge: threshold` against `judge: compare`, side by side in one run on the simulator with
CloudWatch's lag (issue 17). Both sides serve 1% 5xx at 6,000 requests a (simulated) minute;
which requests fail is drawn per minute (binomial), as on AWS.

- threshold: `judge: threshold`, `max-5xx-rate: 1.5%` (halfway between the stable version's 1%
  and a doubled 2%), `failure-limit` 0, the way a team sets a gate above its normal error rate.
  The whole step is judged on its rate against the gate as is; only the recent window's check
  asks for the breach to be beyond chance (a one-sided binomial test);
- compare: `judge: compare` at its defaults (a sequential test over the rollout, `judge-margin`
  10%, `judge-confidence` 95%, no absolute gate) with `early-pass: true`.

The seeded Monte Carlo of the same judges, with far more rollouts, is `cargo bench --bench
judges` (bench/judges/); this run checks the real binary against the simulator.

Measured: the time from 5% traffic to the verdict for a canary at twice the stable version's
error rate; the wall time of a healthy 5-step canary (compare with `early-pass`); how many of the
healthy runs were rolled back (false rollbacks).
"""
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

RPM = 6000
STABLE_RATE = 0.01
_config = threading.Lock()  # the per-LB request rates are one map: read, add, write back

JUDGES = {
    "threshold": {"judge": "threshold", "max-5xx-rate": "1.5%"},
    "compare": {"judge": "compare", "early-pass": "true"},
}


def _setup(b, sim, key, name, canary_rate):
    s = b.slots(sim, key + "S", name)
    stable = f"{s['repo']}:v1"  # the stable slot runs the tag (scenarios match a reference's end)
    digest = b.push(sim, key + "S", s["repo"], "v2")
    with _config:
        sim.call("PUT", "/_sim/config", {"requests_per_minute_by_lb": {
            **sim.call("GET", "/_sim/config")["requests_per_minute_by_lb"], s["lb"]: RPM}})
    sim.scenario(stable, {"error_rate": STABLE_RATE})
    sim.scenario(digest, {"error_rate": canary_rate})
    return s


def _weight_events(sim, s, since):
    green = s["tgs"][1]
    return [(e["at"], (e.get("weights") or {}).get(green)) for e in sim.events(since)
            if e["type"] == "weights_changed" and green in (e.get("weights") or {})]


def bad_canary(b, binary, sim, judge, i):
    """2% against 1% at 5% traffic: the time from 5% traffic to the weights back at 0."""
    key = f"AKIABENCHJBAD{judge.upper()}{i}"
    s = _setup(b, sim, key, f"jbad{judge[:3]}{i}", 2 * STABLE_RATE)
    t0 = time.time()
    inputs = b.canary_inputs(s, b.image_uri(s["repo"], "v2"), **{
        "canary-steps": "5,100", "bake-time": "20s", "min-requests": "50", **JUDGES[judge]})
    run = b.run_action(binary, sim, key, inputs, time_rss=False)
    events = _weight_events(sim, s, t0)
    at5 = next((t for t, w in events if w == 5.0), None)
    back = next((t for t, w in events if at5 and t > at5 and w == 0.0), None)
    return {"judge": judge, "code": run["code"], "verdict": back - at5 if back else None,
            "reason": run["outputs"].get("rolled-back-reason", "")}


def healthy_canary(b, binary, sim, judge, i):
    """1% on both sides, steps 5,10,25,50,100 with 6 s bakes: wall time and whether it passed."""
    key = f"AKIABENCHJOK{judge.upper()}{i}"
    s = _setup(b, sim, key, f"jok{judge[:3]}{i}", STABLE_RATE)
    inputs = b.canary_inputs(s, b.image_uri(s["repo"], "v2"), **{
        "bake-time": "6s", "min-requests": "50", **JUDGES[judge]})
    run = b.run_action(binary, sim, key, inputs, time_rss=False)
    early = sum("passing early" in line for _, line in run["lines"])
    return {"judge": judge, "code": run["code"], "wall": run["t_exit"] - run["t_spawn"], "early": early,
            "reason": run["outputs"].get("rolled-back-reason", "")}


def run(b, binary, sim, n_bad, n_ok):
    """All runs, two at a time (the simulator and the runs share the machine's two cores)."""
    sim.call("PUT", "/_sim/config", {"traffic_seed": 17})
    jobs = [(bad_canary, j, i) for j in JUDGES for i in range(n_bad)] + \
           [(healthy_canary, j, i) for j in JUDGES for i in range(n_ok)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda job: job[0](b, binary, sim, job[1], job[2]), jobs))


def report(results, p):
    """Rows for BENCHMARKS.md."""
    p("| judge | bad canary (2% vs 1% at 5% traffic): 5% traffic → weights back at 0 | caught | "
      "healthy 5-step canary: wall time | steps passed early | false rollbacks |")
    p("|---|---|---|---|---|---|")
    for judge in JUDGES:
        bad = [r for r in results if r["judge"] == judge and "verdict" in r]
        ok = [r for r in results if r["judge"] == judge and "wall" in r]
        verdicts = sorted(r["verdict"] for r in bad if r["verdict"] is not None)
        walls = sorted(r["wall"] for r in ok if r["code"] == 0)
        med = lambda xs: f"median {statistics.median(xs):.1f} s, max {xs[-1]:.1f} s" if xs else "n/a"  # noqa: E731
        p(f"| {judge} | {med(verdicts)} | {len(verdicts)} of {len(bad)} | {med(walls)} | "
          f"{sum(r['early'] for r in ok)} of {5 * len(ok)} | {sum(r['code'] != 0 for r in ok)} of {len(ok)} |")
    reasons = [f"{r['judge']}: {r['reason']}" for r in results if "wall" in r and r["code"] != 0]
    if reasons:
        p("")
        p("False rollbacks: " + "; ".join(reasons))
