//! `judge: compare`'s latency comparison (no `max-p99-latency`) on seeded rollouts, through the
//! action's own code (`domain::slower::SlowerEvidence` with `CompareJudge::slower`'s settings:
//! the 5xx test's process, null ratio 2, a fifth of alpha). The stable version serves 10 minutes alone first; its minutes' p99s
//! (each minute's requests drawn one by one, the value at rank ⌈0.99·n⌉) fix the line. Then
//! steps 5, 10, 25 and 50% of 5 minutes, a look a minute with every minute published; the
//! 100% step has no stable version beside it and is not compared. Both versions' response
//! times are log-normal with the simulator's default shape (mean 20 ms, p99 50 ms); the
//! canary's are `factor` times slower. Each minute's slow count on either side is drawn from
//! the binomial its share past the line gives, which is what counting each request would give.

use std::time::{Duration, UNIX_EPOCH};

use ecs_deploy_action::domain::minutes::MinuteMetrics;
use ecs_deploy_action::domain::seeded::Rng;
use ecs_deploy_action::domain::sequential::{Call, Settings};
use ecs_deploy_action::domain::slower::SlowerEvidence;
use statrs::distribution::{ContinuousCDF, Normal};

const SIGMA: f64 = 0.434;
/// log(50 ms) − SIGMA·z(0.99): the median of the default scenario, in log milliseconds.
fn mu() -> f64 {
    50f64.ln() - SIGMA * Normal::standard().inverse_cdf(0.99)
}
const REFERENCE_MINUTES: u64 = 10;
const STEPS: [f64; 4] = [5.0, 10.0, 25.0, 50.0];
const STEP_MINUTES: u64 = 5;
/// As the action sets it with `judge: compare` at the defaults (confidence 95%).
fn settings() -> Settings {
    ecs_deploy_action::domain::settings::CompareJudge {
        alpha: 0.05,
        margin: 0.1,
        early_pass: false,
    }
    .slower()
}

fn minute(start: u64, requests: f64, p99_ms: Option<f64>, slow: Option<f64>) -> MinuteMetrics {
    MinuteMetrics {
        start: UNIX_EPOCH + Duration::from_secs(start),
        requests,
        errors_5xx: 0.0,
        p99_ms,
        connection_errors: 0.0,
        unanswered: 0.0,
        unhealthy_hosts: 0.0,
        slow,
    }
}

/// The minute the comparison first calls the canary slower, counted from the first weight.
pub fn rollout(per_minute: f64, factor: f64, seed: u64) -> Option<u64> {
    let normal = Normal::standard();
    let mut rng = Rng(seed);
    let reference: Vec<MinuteMetrics> = (0..REFERENCE_MINUTES)
        .map(|m| {
            let n = per_minute as usize;
            let mut t: Vec<f64> = (0..n)
                .map(|_| (mu() + SIGMA * normal.inverse_cdf(rng.uniform().clamp(1e-12, 1.0 - 1e-12))).exp())
                .collect();
            t.sort_by(f64::total_cmp);
            minute(
                m * 60,
                per_minute,
                Some(t[((0.99 * n as f64).ceil() as usize).max(1) - 1]),
                None,
            )
        })
        .collect();
    let from = REFERENCE_MINUTES * 60;
    let mut e = SlowerEvidence::default();
    e.fix_limit(&reference, UNIX_EPOCH + Duration::from_secs(from));
    let line = e.limit_ms()?;
    let past = |scale: f64| 1.0 - normal.cdf((line.ln() - mu() - scale.ln()) / SIGMA);
    let (p_stable, p_canary) = (past(1.0), past(factor));
    let (mut canary, mut stable) = (Vec::new(), Vec::new());
    let mut m = 0;
    for w in STEPS {
        for _ in 0..STEP_MINUTES {
            let a = (per_minute * w / 100.0).round();
            let b = per_minute - a;
            let start = from + m * 60;
            canary.push(minute(start, a, None, Some(rng.binomial_count(a as u64, p_canary))));
            stable.push(minute(start, b, None, Some(rng.binomial_count(b as u64, p_stable))));
            e.observe_read(&canary, &stable);
            e.observe_read(&canary, &stable);
            m += 1;
            if e.read(&settings()).map(|r| r.call()) == Some(Call::Worse) {
                return Some(m);
            }
        }
    }
    None
}

/// The table BENCHMARKS.md reports, on seeds 1..=n for every cell.
pub fn table(n: u64) {
    println!("\nLatency comparison (judge: compare, no max-p99-latency), {n} seeded rollouts per cell (10 minutes of the stable version alone, then steps 5/10/25/50%, 5 minutes each, a look a minute)\n");
    println!("| requests/min | canary's response times | rolled back | median minute from the first weight |");
    println!("|---|---|---|---|");
    for per_minute in [1000.0, 6000.0] {
        for factor in [1.0, 1.1, 1.25, 1.5, 2.0] {
            let mut at: Vec<u64> = (1..=n)
                .filter_map(|i| {
                    rollout(
                        per_minute,
                        factor,
                        (per_minute as u64) ^ ((factor * 1e3) as u64) << 8 ^ (i << 24),
                    )
                })
                .collect();
            at.sort_unstable();
            let median = at.get(at.len() / 2).map_or("—".into(), |m| m.to_string());
            let label = if factor == 1.0 {
                "as the stable version's (healthy)".to_string()
            } else {
                format!("{factor}× slower")
            };
            println!(
                "| {per_minute:.0} | {label} | {:.1}% | {median} |",
                100.0 * at.len() as f64 / n as f64
            );
        }
    }
}
