//! A seeded Monte Carlo of the canary judges (issue 28), driving the action's own decision
//! code (`analysis::judge`, `StepAnalysis`, `minutes::{total, recent, Coverage}` and
//! `sequential::Evidence`) through a two-slot rollout's steps, on the simulator's CloudWatch
//! clock (world.rs). Each rollout has steps 5, 10, 25, 50 and 100% with 5-minute bakes, looks
//! every 30 s (`analysis-interval`), waits for a step's minutes up to `metrics-delay` (5m) and
//! treats an inconclusive step as a rollback (`on-inconclusive: fail`, the default).
//!
//! `cargo bench --bench judges -- [rollouts] [--only-latency]` (`make bench` runs it); the
//! tables it prints are the ones in BENCHMARKS.md. Time is simulated, so the figures do not depend on the machine.

mod judges;
mod latency;
mod slower;
mod world;

use judges::{rollout, Judge, Outcome};
use world::Service;

const JUDGES: [(&str, Judge); 5] = [
    ("sequential (judge: compare)", Judge::Sequential { early_pass: false }),
    ("sequential, early-pass", Judge::Sequential { early_pass: true }),
    ("threshold, 1% gate (the old default)", Judge::Threshold { gate: None }),
    ("threshold, gate 1.5× stable", Judge::Threshold { gate: Some(1.5) }),
    ("old compare (0.5 points, per step)", Judge::OldCompare),
];

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    (!xs.is_empty()).then(|| xs[xs.len() / 2])
}

fn pct(n: usize, of: usize) -> String {
    format!("{:.1}%", 100.0 * n as f64 / of.max(1) as f64)
}

/// Rollouts of one service and judge, on seeds 1..=n (the same seeds for every judge).
fn batch(service: Service, judge: Judge, n: u64, cell: u64) -> Vec<Outcome> {
    (1..=n)
        .map(|i| rollout(service, cell.wrapping_mul(1_000_003) ^ i, judge))
        .collect()
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    if std::env::args().any(|a| a == "--only-latency") {
        latency::table(n);
        slower::table(n);
        return;
    }
    println!("Seeded rollouts per cell: {n} (steps 5/10/25/50/100%, 5-minute bakes, 30 s looks, metrics-delay 5m)\n");
    println!("| requests/min | stable 5xx | judge | healthy: rolled back | healthy: median minutes | 2×: caught | 2×: median minutes | 2×: promoted as a pass | 5×: caught | 5×: median minutes |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (cell, (per_minute, stable_rate)) in [(6000.0, 0.01), (1000.0, 0.01), (6000.0, 0.005), (1000.0, 0.005)]
        .into_iter()
        .enumerate()
    {
        for (name, judge) in JUDGES {
            let svc = |ratio| Service {
                per_minute,
                stable_rate,
                ratio,
            };
            let cell = cell as u64;
            let healthy = batch(svc(1.0), judge, n, cell * 10 + 1);
            let twice = batch(svc(2.0), judge, n, cell * 10 + 2);
            let five = batch(svc(5.0), judge, n, cell * 10 + 5);
            let false_rollbacks = healthy.iter().filter(|o| o.rolled_back_at.is_some()).count();
            let wall = median(
                healthy
                    .iter()
                    .filter(|o| o.rolled_back_at.is_none())
                    .map(|o| o.wall / 60.0)
                    .collect(),
            );
            let caught = |os: &[Outcome]| {
                let at: Vec<f64> = os.iter().filter_map(|o| o.rolled_back_at).map(|s| s / 60.0).collect();
                (
                    pct(at.len(), os.len()),
                    median(at).map_or("—".into(), |m| format!("{m:.1}")),
                )
            };
            let (c2, m2) = caught(&twice);
            let (c5, m5) = caught(&five);
            let promoted = twice.iter().filter(|o| o.promoted_as_pass).count();
            println!(
                "| {per_minute:.0} | {:.1}% | {name} | {} | {} | {c2} | {m2} | {} | {c5} | {m5} |",
                stable_rate * 100.0,
                pct(false_rollbacks, healthy.len()),
                wall.map_or("—".into(), |w| format!("{w:.1}")),
                pct(promoted, twice.len()),
            );
        }
    }
    latency::table(n.min(1000));
    slower::table(n.min(1000));
}
