//! `judge: compare` at one look of a bake: the canary's published minutes against the stable
//! version's over the same minutes, errors by their posteriors and latency by its per-minute
//! p99s, with the numbers behind the call kept for the report.

use crate::domain::analysis::TargetGroupMetrics;
use crate::domain::compare::{self, Decision};
use crate::domain::report::Comparison;
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
    /// Not worse, on errors and (when measurable) latency: may pass early.
    NotWorse(String),
    Undecided(String),
}

pub fn compare_step(
    cj: CompareJudge,
    canary: &TargetGroupMetrics,
    baseline: &TargetGroupMetrics,
    p99s: &MinuteP99s,
    looks: usize,
) -> (Call, Comparison) {
    let counts = |m: &TargetGroupMetrics| compare::Counts {
        requests: m.requests,
        errors: m.errors(),
    };
    let settings = compare::Settings {
        margin: cj.margin,
        alpha: cj.alpha,
        looks: looks.max(1) as u32,
    };
    let decision = compare::error_rates(counts(canary), counts(baseline), &settings);
    let latency = compare::slower(&p99s.canary, &p99s.baseline, LATENCY_MARGIN, &settings);
    let errors = match &decision {
        Decision::Worse(e) | Decision::NotWorse(e) | Decision::Undecided(e) => *e,
    };
    let comparison = Comparison { errors, latency };
    let text = describe(&comparison);
    let call = match (&decision, latency) {
        (Decision::Worse(_), _) => Call::Worse(text),
        (_, Some(l)) if l.slower => Call::Worse(text),
        (Decision::NotWorse(_), _) => Call::NotWorse(text),
        _ => Call::Undecided(text),
    };
    (call, comparison)
}

/// "5xx 12 of 300 against 57 of 5,700, P(worse by more than 0.50 points) = 0.9991, boundary
/// 0.9950; p99 per minute: median 92 ms over 6 minutes against 50 ms over 6, Mann-Whitney
/// p = 0.0012 (a verdict needs < 0.0050)".
pub fn describe(c: &Comparison) -> String {
    let e = &c.errors;
    let mut text = format!(
        "5xx {:.0} of {:.0} against {:.0} of {:.0}, P(worse by more than {:.2} points) = {:.4}, boundary {:.4}",
        e.canary.errors,
        e.canary.requests,
        e.baseline.errors,
        e.baseline.requests,
        e.margin * 100.0,
        e.p_worse,
        e.boundary
    );
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

    const CJ: CompareJudge = CompareJudge {
        alpha: 0.05,
        margin: 0.005,
        early_pass: true,
    };

    fn m(requests: f64, errors: f64) -> TargetGroupMetrics {
        TargetGroupMetrics {
            requests,
            errors_5xx: errors,
            ..Default::default()
        }
    }

    fn kind(c: &Call) -> &'static str {
        match c {
            Call::Worse(_) => "worse",
            Call::NotWorse(_) => "not worse",
            Call::Undecided(_) => "undecided",
        }
    }

    #[test]
    fn a_slower_canary_is_worse_even_when_its_errors_are_fine() {
        let p99s = MinuteP99s {
            canary: vec![300.0, 310.0, 305.0, 320.0, 299.0, 301.0],
            baseline: vec![100.0, 101.0, 99.0, 102.0, 100.0, 98.0],
        };
        let (call, c) = compare_step(CJ, &m(6000.0, 60.0), &m(57_000.0, 570.0), &p99s, 10);
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
        let (call, c) = compare_step(CJ, &m(6000.0, 60.0), &m(57_000.0, 570.0), &p99s, 10);
        assert_eq!(kind(&call), "not worse");
        assert_eq!(c.latency, None);
        let (call, _) = compare_step(CJ, &m(3000.0, 90.0), &m(57_000.0, 570.0), &p99s, 10);
        assert_eq!(kind(&call), "worse");
        let (call, _) = compare_step(CJ, &m(30.0, 1.0), &m(570.0, 6.0), &p99s, 10);
        assert_eq!(kind(&call), "undecided");
    }
}
