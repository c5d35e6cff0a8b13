//! The latency gate (`max-p99-latency`) on seeded rollouts, with each minute's requests drawn
//! one by one (issue 29, item 2): the gate as it was (a step fails when any of its minutes'
//! p99 is above the limit) beside the action's count test (`domain::latency`, the real code).
//!
//! Each rollout has steps 5, 10, 25, 50 and 100% of 5 minutes, looked at once a minute with
//! every minute published (CloudWatch's lag moves when a call is made, not which; the 5xx
//! table above has it). Response times are log-normal with the shape of the simulator's
//! default scenario (mean 20 ms, p99 50 ms), shifted so that a given share of requests is
//! slower than the 60 ms limit. A minute's p99 is CloudWatch's over that minute's requests
//! (the value at rank ⌈0.99·n⌉), as the simulator computes it.

use ecs_deploy_action::domain::latency::{SlowEvidence, SlowMinute};
use ecs_deploy_action::domain::seeded::Rng;
use statrs::distribution::{ContinuousCDF, Normal};

const LIMIT_MS: f64 = 60.0;
const STEPS: [f64; 5] = [5.0, 10.0, 25.0, 50.0, 100.0];
const STEP_MINUTES: usize = 5;
/// The old gate judged a step once it had `min-requests` (the bench's 50).
const MIN_REQUESTS: f64 = 50.0;
/// The shape (σ of log milliseconds) of a log-normal with mean 20 ms and p99 50 ms.
const SIGMA: f64 = 0.434;

pub struct LatencyOutcome {
    pub old_rolled_back: bool,
    pub new_rolled_back_at: Option<usize>,
}

/// One rollout where each request is slower than the limit with chance `share`.
pub fn rollout(per_minute: f64, share: f64, seed: u64) -> LatencyOutcome {
    let normal = Normal::standard();
    // log(LIMIT) = mu + SIGMA·z(1 − share)
    let mu = LIMIT_MS.ln() - SIGMA * normal.inverse_cdf(1.0 - share);
    let mut rng = Rng(seed);
    let mut evidence = SlowEvidence::default();
    let (mut old, mut new) = (false, None);
    let mut minute = 0u64;
    for w in STEPS {
        let n = (per_minute * w / 100.0).round() as usize;
        let (mut step_requests, mut worst) = (0.0, 0.0f64);
        for _ in 0..STEP_MINUTES {
            let mut times: Vec<f64> = (0..n)
                .map(|_| (mu + SIGMA * normal.inverse_cdf(rng.uniform().clamp(1e-12, 1.0 - 1e-12))).exp())
                .collect();
            times.sort_by(f64::total_cmp);
            let slow = times.iter().filter(|t| **t > LIMIT_MS).count() as f64;
            if let Some(p99) = times.get(((0.99 * n as f64).ceil() as usize).max(1) - 1) {
                worst = worst.max(*p99);
            }
            step_requests += n as f64;
            old |= step_requests >= MIN_REQUESTS && worst > LIMIT_MS;
            evidence.observe_read(&[(
                minute * 60,
                SlowMinute {
                    requests: n as f64,
                    slow,
                },
            )]);
            evidence.observe_read(&[(
                minute * 60,
                SlowMinute {
                    requests: n as f64,
                    slow,
                },
            )]);
            minute += 1;
            if new.is_none() && evidence.read(LIMIT_MS, 0.05).worse() {
                new = Some(minute as usize);
            }
        }
    }
    LatencyOutcome {
        old_rolled_back: old,
        new_rolled_back_at: new,
    }
}

/// The table BENCHMARKS.md reports, on seeds 1..=n for every cell.
pub fn table(n: u64) {
    println!("\nLatency gate, max-p99-latency 60 ms, {n} seeded rollouts per cell (steps 5/10/25/50/100%, 5 minutes each, a look a minute)\n");
    println!("| requests/min | share of the canary's requests slower than 60 ms | a minute's p99 over the limit (the old gate): rolled back | count test (now): rolled back | count test: median minute |");
    println!("|---|---|---|---|---|");
    for per_minute in [1000.0, 6000.0] {
        for share in [0.003, 0.008, 0.02, 0.05] {
            let outcomes: Vec<LatencyOutcome> = (1..=n)
                .map(|i| {
                    rollout(
                        per_minute,
                        share,
                        (per_minute as u64) ^ (share * 1e6) as u64 ^ (i << 20),
                    )
                })
                .collect();
            let old = outcomes.iter().filter(|o| o.old_rolled_back).count();
            let mut at: Vec<usize> = outcomes.iter().filter_map(|o| o.new_rolled_back_at).collect();
            at.sort_unstable();
            let median = at.get(at.len() / 2).map_or("—".into(), |m| m.to_string());
            let pct = |k: usize| format!("{:.1}%", 100.0 * k as f64 / n as f64);
            println!(
                "| {per_minute:.0} | {:.1}%{} | {} | {} | {median} |",
                share * 100.0,
                if share < 0.01 {
                    " (healthy: p99 under the limit)"
                } else {
                    " (p99 over the limit)"
                },
                pct(old),
                pct(at.len()),
            );
        }
    }
}
