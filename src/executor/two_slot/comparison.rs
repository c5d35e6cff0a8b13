//! `judge: compare` at one look: the rollout's sequential evidence on the error rates and on
//! the requests slower than the stable version's p99 from before the rollout (one process
//! each over every step, issue 28), with the numbers behind the call kept for the report.

use crate::domain::report::{Comparison, SlowerReading};
use crate::domain::sequential::{Call as Evidence, Reading};

/// What one look concludes, with the numbers in words.
pub enum Call {
    /// Worse than the stable version, on 5xx or on latency: the reason, saying which.
    Worse(String),
    /// Shown not worse on errors, and not shown slower: may pass early, and may be promoted.
    NotWorse(String),
    /// So few 5xx on either side that no ratio could be told, or matter: may be promoted.
    TooFewErrors(String),
    Undecided(String),
}

pub fn compare_step(errors: Reading, latency: Option<SlowerReading>) -> (Call, Comparison) {
    let comparison = Comparison { errors, latency };
    let text = describe(&comparison);
    let slower = latency.is_some_and(|l| l.reading.call() == Evidence::Worse);
    let call = match errors.call() {
        Evidence::Worse => Call::Worse(format!("worse than the stable version: {text}")),
        // The latency evidence first: it is what decided.
        _ if slower => Call::Worse(format!(
            "slower than the stable version: {}; {}",
            latency.map_or(String::new(), |l| crate::domain::slower::describe(
                &l.reading, l.limit_ms
            )),
            errors.describe()
        )),
        Evidence::NotWorse => Call::NotWorse(text),
        Evidence::TooFewErrors => Call::TooFewErrors(text),
        Evidence::Undecided => Call::Undecided(text),
    };
    (call, comparison)
}

/// The evidence on errors, then on latency once its limit is known.
pub fn describe(c: &Comparison) -> String {
    let mut text = c.errors.describe();
    if let Some(l) = &c.latency {
        text.push_str("; ");
        text.push_str(&crate::domain::slower::describe(&l.reading, l.limit_ms));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sequential::{Evidence as Process, MinuteCounts};
    use crate::domain::settings::CompareJudge;

    const CJ: CompareJudge = CompareJudge {
        alpha: 0.05,
        margin: 0.1,
        early_pass: true,
    };

    /// Six minutes of a 5% canary with these 5xx (or slow requests) a minute, against 1% of 5,700.
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

    fn slower(canary_slow: f64) -> Option<SlowerReading> {
        let mut e = Process::default();
        for m in 0..6 {
            e.observe(
                m * 60,
                MinuteCounts {
                    canary_requests: 300.0,
                    canary_errors: canary_slow,
                    stable_requests: 5700.0,
                    stable_errors: 57.0,
                    ..Default::default()
                },
            );
        }
        Some(SlowerReading {
            reading: e.read(&CJ.slower()),
            limit_ms: 120.0,
        })
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
        // 10% of the canary's requests past the stable p99, against 1% of the stable's.
        let (call, c) = compare_step(reading(3.0), slower(30.0));
        assert_eq!(kind(&call), "worse");
        assert_eq!(c.latency.unwrap().reading.call(), Evidence::Worse);
        let Call::Worse(text) = call else { unreachable!() };
        assert!(
            text.starts_with("slower than the stable version: requests slower than the stable version's 120 ms p99 from before the rollout: 180 of 1,800 against 342 of 34,200"),
            "{text}"
        );
        assert!(text.contains("; 5xx 18 of 1,800"), "{text}");
    }

    #[test]
    fn errors_decide_alone_until_latency_has_a_limit_or_shows_it_slower() {
        let (call, c) = compare_step(reading(15.0), None);
        assert_eq!(c.latency, None);
        assert_eq!(kind(&call), "worse", "5% against 1%");
        let (call, _) = compare_step(reading(3.0), None);
        assert_eq!(kind(&call), "not worse", "the same 1%, 18 of 360 5xx: below 2×");
        let (call, _) = compare_step(reading(3.0), slower(3.0));
        assert_eq!(kind(&call), "not worse", "as fast as the stable version");
        let (call, _) = compare_step(reading_over(1, 3.0), None);
        assert_eq!(kind(&call), "undecided", "3 of 60 5xx in one minute say little");
    }
}
