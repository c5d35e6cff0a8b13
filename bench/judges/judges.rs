//! One rollout under one judge: the two-slot bake's schedule (executor/two_slot/bake.rs) around
//! the action's own decision code. The old `judge: compare` rule (a normal approximation of two
//! beta posteriors, an absolute margin of 0.5 points, alpha split over each step's looks) was
//! removed from the action by issue 28; it is kept here, as it was, to be measured beside the
//! judge that replaced it.

use crate::world::{at, Service, World};
use ecs_deploy_action::domain::analysis::{judge, Measurement, Thresholds, Verdict};
use ecs_deploy_action::domain::minutes::{paired, recent, total, Coverage};
use ecs_deploy_action::domain::seeded::Rng;
use ecs_deploy_action::domain::sequential::{Call, Evidence, Settings};
use ecs_deploy_action::domain::step_analysis::{Limits, OnInconclusive, StepAnalysis, StepStatus};
use statrs::distribution::{ContinuousCDF, Normal};
use std::time::SystemTime;

const STEPS: [u8; 5] = [5, 10, 25, 50, 100];
const BAKE: f64 = 300.0;
const LOOK: f64 = 30.0;
const MAX_DELAY: f64 = 300.0;
const MIN_REQUESTS: f64 = 50.0;
const EXTENSIONS: u32 = 3;
const LIMITS: Limits = Limits {
    failure_limit: 0,
    consecutive_error_limit: 4,
};
/// As the action sets it with `judge: compare` at the defaults (margin 10%, confidence 95%):
/// the 5xx test's share of alpha (the latency test has the rest).
fn sequential() -> Settings {
    ecs_deploy_action::domain::settings::CompareJudge {
        alpha: 0.05,
        margin: 0.1,
        early_pass: false,
    }
    .sequential()
}

#[derive(Clone, Copy)]
pub enum Judge {
    /// `judge: compare` since issue 28: no absolute gate.
    Sequential { early_pass: bool },
    /// `judge: threshold` with the 1% gate (None) or a gate at this multiple of the stable rate.
    Threshold { gate: Option<f64> },
    /// `judge: compare` before issue 28, with no absolute gate.
    OldCompare,
}

pub struct Outcome {
    /// Seconds from the first weight change to the rollback, if rolled back.
    pub rolled_back_at: Option<f64>,
    /// Seconds from the first weight change to the end.
    pub wall: f64,
    /// The canary reached 100% (a step before it passed).
    pub promoted_as_pass: bool,
}

pub fn rollout(service: Service, seed: u64, j: Judge) -> Outcome {
    let mut world = World::new(service, seed);
    let start: f64 = 600.0 + 60.0 * Rng(seed).uniform();
    let first_minute = (start / 60.0).floor() as u64;
    let thresholds = Thresholds {
        max_error_rate: match j {
            Judge::Threshold { gate: None } => Some(0.01),
            Judge::Threshold { gate: Some(k) } => Some(k * service.stable_rate),
            _ => None,
        },
        max_p99_ms: None,
        max_error_rate_increase: None,
        min_requests: MIN_REQUESTS,
        // As the action sets it: with compare and no max-5xx-rate, 1% where nothing compares.
        max_error_rate_uncompared: matches!(j, Judge::Sequential { .. }).then_some(0.01),
    };
    let mut evidence = Evidence::default();
    let mut t = start;
    let mut promoted = false;
    let end = |t: f64, rolled_back: bool, promoted: bool| Outcome {
        rolled_back_at: rolled_back.then_some(t - start),
        wall: t - start,
        promoted_as_pass: promoted,
    };
    for (i, &w) in STEPS.iter().enumerate() {
        world.set_weight(t, f64::from(w));
        promoted |= w == 100;
        let set_at = t;
        let promotes = STEPS.get(i + 1) == Some(&100);
        let mut bake_end = set_at + BAKE;
        let (mut expected, mut deadline, mut times) = window(set_at, bake_end);
        let mut extended = 0;
        let mut analysis = StepAnalysis::default();
        let mut seen = None;
        loop {
            let until = if t < bake_end { bake_end } else { deadline };
            t = (t + LOOK).min(until);
            // As the action reads them: with the comparison, from 10 minutes before the rollout
            // (the stable version's reference rate) on.
            let from = match j {
                Judge::Sequential { .. } => first_minute - 10,
                _ => expected[0],
            };
            let read = world.read(from, t);
            let coverage = Coverage::of(times.clone(), &read.canary);
            let mut m = Measurement {
                canary: total(read.canary.iter().filter(|x| times.contains(&x.start))),
                baseline: Some(total(read.stable.iter().filter(|x| times.contains(&x.start)))),
                reference: matches!(j, Judge::Sequential { .. }).then(|| total(read.stable.iter())),
                window_secs: (t - set_at) as u64,
                ..Default::default()
            };
            if coverage.published.len() > 2 {
                m.recent = recent(&read.canary, &times, 2).map(|(w, _, _)| (w, String::new()));
            }
            let verdict = judge(&m, &thresholds);
            let data = (coverage.published.len(), coverage.requests.round() as u64);
            let fresh = seen != Some(data);
            let settled = !fresh && coverage.complete();
            seen = Some(data);
            let halfway = t >= set_at + BAKE / 2.0 && w < 100;
            if fresh {
                let passed = verdict == Verdict::Pass;
                if let StepStatus::Failed(_) = analysis.record(m, verdict, &LIMITS) {
                    return end(t, true, promoted);
                }
                match j {
                    Judge::Sequential { early_pass } => {
                        evidence.observe_read(&paired(&read.canary, &read.stable));
                        match evidence.read(&sequential()).call() {
                            Call::Worse => return end(t, true, promoted),
                            Call::NotWorse | Call::TooFewErrors if early_pass && halfway && passed => break,
                            _ => {}
                        }
                    }
                    Judge::OldCompare => {
                        let canary = total(read.canary.iter().filter(|x| times.contains(&x.start)));
                        let stable = total(read.stable.iter().filter(|x| times.contains(&x.start)));
                        if stable.requests >= MIN_REQUESTS {
                            let looks = expected.len() as f64;
                            let c = (canary.requests, canary.errors());
                            let b = (stable.requests, stable.errors());
                            if old_p_worse(c, b) >= 1.0 - 0.05 / looks {
                                return end(t, true, promoted);
                            }
                        }
                    }
                    Judge::Threshold { .. } => {}
                }
            }
            if t < bake_end {
                continue;
            }
            if settled || (t >= deadline && coverage.complete()) {
                let judged = match j {
                    Judge::Sequential { .. } if promotes => {
                        matches!(evidence.read(&sequential()).call(), Call::NotWorse | Call::TooFewErrors)
                    }
                    _ => true,
                };
                match analysis.conclude(OnInconclusive::Fail) {
                    Ok(_) if judged => break,
                    // The evidence has not decided before 100%: bake once more at this weight.
                    Ok(_) if extended < EXTENSIONS => {
                        extended += 1;
                        bake_end += BAKE;
                        (expected, deadline, times) = window(set_at, bake_end);
                        continue;
                    }
                    _ => return end(t, true, promoted),
                }
            }
            if t >= deadline {
                return end(t, true, promoted);
            }
        }
    }
    end(t, false, promoted)
}

/// A step's minutes from its first whole one, its deadline and their timestamps.
fn window(set_at: f64, bake_end: f64) -> (Vec<u64>, f64, Vec<SystemTime>) {
    let last = ((bake_end - 1e-3) / 60.0).floor() as u64;
    let mut expected: Vec<u64> = ((set_at / 60.0).floor() as u64..=last).collect();
    if expected.len() > 1 && (expected[0] as f64) * 60.0 < set_at {
        expected.remove(0);
    }
    let deadline = ((last + 1) as f64 * 60.0).max(bake_end) + MAX_DELAY;
    let times = expected.iter().map(|k| at(*k as f64 * 60.0)).collect();
    (expected, deadline, times)
}

/// The removed rule: P(canary rate − stable rate > 0.5 points) under Beta(1 + errors,
/// 1 + successes) posteriors, taken as normal.
fn old_p_worse((cr, ce): (f64, f64), (br, be): (f64, f64)) -> f64 {
    let moments = |r: f64, e: f64| {
        let (a, b) = (1.0 + e, 1.0 + (r - e).max(0.0));
        let n = a + b;
        (a / n, a * b / (n * n * (n + 1.0)))
    };
    let ((mc, vc), (mb, vb)) = (moments(cr, ce), moments(br, be));
    Normal::standard().cdf((mc - mb - 0.005) / (vc + vb).sqrt().max(1e-12))
}
