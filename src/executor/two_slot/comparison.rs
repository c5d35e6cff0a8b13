//! `judge: compare` at one look: the rollout's sequential evidence on the error rates (one
//! process over every step, issue 28) and the step's per-minute p99s against the stable
//! version's, with the numbers behind the call kept for the report.

use crate::domain::compare;
use crate::domain::report::Comparison;
use crate::domain::sequential::{Call as Evidence, Reading};
use crate::domain::settings::CompareJudge;

/// How much slower than the stable version's per-minute p99 the canary's may be before the
/// latency comparison can call it worse: 10%, so a few milliseconds of noise or of a cold
/// cache never roll back a release; a real regression is larger and shows in every minute.
pub const LATENCY_MARGIN: f64 = 0.10;

/// Each side's p99 in each published minute of the step.
#[derive(Debug, Clone, Default)]
pub struct MinuteP99s {
    pub canary: Vec<f64>,
    pub baseline: Vec<f64>,
}

/// What one look concludes, with the numbers in words.
pub enum Call {
    /// Worse than the stable version: the reason.
    Worse(String),
    /// Shown not worse on errors, and not slower: may pass early, and may be promoted.
    NotWorse(String),
    /// So few 5xx on either side that no ratio could be told, or matter: may be promoted.
    TooFewErrors(String),
    Undecided(String),
}

pub fn compare_step(cj: CompareJudge, errors: Reading, p99s: &MinuteP99s, looks: usize) -> (Call, Comparison) {
    let settings = compare::Settings {
        alpha: cj.alpha,
        looks: looks.max(1) as u32,
    };
    let latency = compare::slower(&p99s.canary, &p99s.baseline, LATENCY_MARGIN, &settings);
    let comparison = Comparison { errors, latency };
    let text = describe(&comparison);
    let call = match (errors.call(), latency) {
        (Evidence::Worse, _) => Call::Worse(text),
        (_, Some(l)) if l.slower => Call::Worse(text),
        (Evidence::NotWorse, _) => Call::NotWorse(text),
        (Evidence::TooFewErrors, _) => Call::TooFewErrors(text),
        (Evidence::Undecided, _) => Call::Undecided(text),
    };
    (call, comparison)
}

/// The evidence on errors, then "p99 per minute: median 92 ms over 6 minutes against 50 ms
/// over 6, Mann-Whitney p = 0.0012 (a verdict needs < 0.0050)".
pub fn describe(c: &Comparison) -> String {
    let mut text = c.errors.describe();
    if let Some(l) = &c.latency {
        text.push_str(&format!(
            "; p99 per minute: median {:.0} ms over {} minutes against {:.0} ms over {}, \
             Mann-Whitney p = {:.4} for slower by more than {:.0}% (a verdict needs < {:.4})",
            l.canary_median_ms,
            l.canary_minutes,
            l.baseline_median_ms,
            l.baseline_minutes,
            l.p_value,
            LATENCY_MARGIN * 100.0,
            l.needs_below
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sequential::{Evidence as Process, MinuteCounts};

    const CJ: CompareJudge = CompareJudge {
        alpha: 0.05,
        margin: 0.1,
        early_pass: true,
    };

    /// Six minutes of a 5% canary with these 5xx a minute, against 1% of 5,700.
    fn reading(canary_errors: f64) -> Reading {
        reading_over(6, canary_errors)
    }

    fn reading_over(minutes: u64, canary_errors: f64) -> Reading {
        let mut e = Process::default();
        for m in 0..minutes {
            e.observe(
                m * 60,
                MinuteCounts {
                    canary_requests: 300.0,
                    canary_errors,
                    stable_requests: 5700.0,
                    stable_errors: 57.0,
                    ..Default::default()
                },
            );
        }
        e.read(&CJ.sequential())
    }

    fn kind(c: &Call) -> &'static str {
        match c {
            Call::Worse(_) => "worse",
            Call::NotWorse(_) => "not worse",
            Call::TooFewErrors(_) => "too few",
            Call::Undecided(_) => "undecided",
        }
    }

    #[test]
    fn a_slower_canary_is_worse_even_when_its_errors_are_fine() {
        let p99s = MinuteP99s {
            canary: vec![300.0, 310.0, 305.0, 320.0, 299.0, 301.0],
            baseline: vec![100.0, 101.0, 99.0, 102.0, 100.0, 98.0],
        };
        let (call, c) = compare_step(CJ, reading(3.0), &p99s, 10);
        assert_eq!(kind(&call), "worse");
        assert!(c.latency.unwrap().slower);
        let Call::Worse(text) = call else { unreachable!() };
        assert!(
            text.contains("median 303 ms over 6 minutes against 100 ms over 6"),
            "{text}"
        );
    }

    #[test]
    fn errors_decide_alone_while_latency_has_too_few_minutes() {
        let p99s = MinuteP99s {
            canary: vec![300.0],
            baseline: vec![100.0],
        };
        let (call, c) = compare_step(CJ, reading(15.0), &p99s, 10);
        assert_eq!(c.latency, None);
        assert_eq!(kind(&call), "worse", "5% against 1%");
        let (call, _) = compare_step(CJ, reading(3.0), &p99s, 10);
        assert_eq!(kind(&call), "not worse", "the same 1%, 18 of 360 5xx: below 2×");
        let (call, _) = compare_step(CJ, reading_over(1, 3.0), &p99s, 10);
        assert_eq!(kind(&call), "undecided", "3 of 60 5xx in one minute say little");
    }
}
