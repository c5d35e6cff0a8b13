//! Judging a traffic step from metrics and alarms, the way Argo Rollouts judges an analysis
//! run: each measurement passes, fails, is inconclusive (too little data) or errors (the query
//! failed); limits on failures and errors decide the step. Absence of evidence is never a pass.

use std::fmt;

use super::binomial::binomial_upper_tail;
pub use super::evidence::{FiringAlarm, TargetGroupMetrics};
pub use super::step_analysis::{Limits, OnInconclusive, StepAnalysis, StepStatus};

/// One look at the canary (and the stable slot as baseline) over the bake window so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    pub canary: TargetGroupMetrics,
    pub baseline: Option<TargetGroupMetrics>,
    /// Names of configured alarms currently in ALARM.
    pub alarms_firing: Vec<String>,
    /// Why the metrics or alarms could not be read, if they could not.
    pub query_error: Option<String>,
    pub window_secs: u64,
    /// What the step's window covers ("minutes 10:41–10:46 (5 of 6 published; 10:46 not yet), 1,180 requests"),
    /// when measured on CloudWatch's minutes; otherwise the window is `window_secs`.
    pub coverage: Option<String>,
    /// The most recent published minutes alone, and their span ("10:43–10:44"): a regression
    /// that starts late in a step is not diluted there by the healthy minutes before it.
    pub recent: Option<(TargetGroupMetrics, String)>,
    /// The custom metric gates' readings of the new slot over the step (`metrics:`).
    pub gates: Vec<super::metric_gate::GateReading>,
    /// The stable version's requests and 5xx before and during the rollout (`judge: compare`):
    /// what a step it cannot be compared with beside it is measured against.
    pub reference: Option<TargetGroupMetrics>,
    /// The rollout's latency evidence against `max-p99-latency` (`latency`), so far.
    pub latency: Option<super::latency::SlowReading>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Highest acceptable canary 5xx rate (0.01 = 1%).
    pub max_error_rate: Option<f64>,
    pub max_p99_ms: Option<f64>,
    /// Highest acceptable excess of the canary's 5xx rate over the baseline's, in rate units.
    pub max_error_rate_increase: Option<f64>,
    /// Fewer canary requests than this in the window is inconclusive.
    pub min_requests: f64,
    /// The 5xx gate of a step the comparison cannot judge, because the stable version served
    /// fewer than `min_requests` beside it (the 100% step, blue/green), when it has no
    /// `reference` to set one from: `judge: compare` with `max-5xx-rate` unset keeps 1% there,
    /// so a bad release is never promoted unjudged.
    pub max_error_rate_uncompared: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Inconclusive(String),
    Error(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => write!(f, "pass"),
            Verdict::Fail(r) => write!(f, "fail: {r}"),
            Verdict::Inconclusive(r) => write!(f, "inconclusive: {r}"),
            Verdict::Error(r) => write!(f, "error: {r}"),
        }
    }
}

fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// `1,204`.
pub fn thousands(n: f64) -> String {
    count(n)
}

fn count(n: f64) -> String {
    let n = n.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Judges one measurement. A firing alarm fails it whatever else happened: with little
/// traffic (an alarm is evidence) and when the metrics could not be read (a CloudWatch
/// brown-out must not hide it). Metric gates need `min_requests`.
pub fn judge(m: &Measurement, t: &Thresholds) -> Verdict {
    let uncompared = m.baseline.is_none_or(|b| b.requests < t.min_requests);
    let gate = t
        .max_error_rate_uncompared
        .filter(|_| uncompared)
        .map(|fallback| uncompared_gate(m.reference.as_ref(), t.min_requests).unwrap_or(fallback));
    let gated = Thresholds {
        max_error_rate: t.max_error_rate.or(gate),
        ..*t
    };
    let t = &gated;
    if !m.alarms_firing.is_empty() {
        return Verdict::Fail(format!("alarm {} is in ALARM", m.alarms_firing.join(", ")));
    }
    if let Some(e) = &m.query_error {
        return Verdict::Error(e.clone());
    }
    // A custom gate fails on its own evidence, once it has its minimum sample.
    if let Some(breach) = m.gates.iter().filter(|g| !g.too_few()).find_map(|g| g.breach()) {
        return Verdict::Fail(format!("custom metric {breach}"));
    }
    let c = &m.canary;
    if c.unhealthy_hosts > 0.0 {
        return Verdict::Fail(format!(
            "{} target(s) of the new slot unhealthy behind the load balancer (UnHealthyHostCount)",
            c.unhealthy_hosts
        ));
    }
    // `max-p99-latency` fails on the rollout's evidence that more than 1% of requests are slower
    // (`latency`): never on one minute's p99, which for a small canary is nearly its slowest
    // request and breaks the limit by chance.
    if let Some(r) = m.latency.filter(|r| r.worse()) {
        return Verdict::Fail(r.describe());
    }
    // The recent window fails on its own, with its own minimum sample, and only on evidence:
    // a few minutes at low traffic are noisy, so its 5xx rate must exceed the gate beyond chance.
    if let Some((r, span)) = &m.recent {
        if r.requests >= t.min_requests {
            if let Some(breach) = breach(r, t).filter(|_| beyond_chance(r, t)) {
                let step = c.error_rate().map(pct).unwrap_or_else(|| "n/a".into());
                return Verdict::Fail(format!(
                    "{breach} over {span} ({} requests); 5xx {step} over the step",
                    count(r.requests)
                ));
            }
        }
    }
    let window = match &m.coverage {
        Some(c) => c.clone(),
        None => format!("{} s", m.window_secs),
    };
    if c.requests < t.min_requests {
        return Verdict::Inconclusive(match &m.coverage {
            Some(cov) => format!("{cov}, fewer than the minimum sample of {}", count(t.min_requests)),
            None => format!(
                "{} requests in {} s, fewer than the minimum sample of {}",
                count(c.requests),
                m.window_secs,
                count(t.min_requests)
            ),
        });
    }
    let rate = c.error_rate().unwrap_or(0.0);
    if let Some(max) = t.max_error_rate {
        if rate > max {
            return Verdict::Fail(match &m.coverage {
                Some(cov) => format!("{} > {} over {cov}", rate_of(c), pct(max)),
                None => format!(
                    "{} > {} over {window}, {} requests",
                    rate_of(c),
                    pct(max),
                    count(c.requests)
                ),
            });
        }
    }
    if let (Some(max_inc), Some(base)) = (t.max_error_rate_increase, &m.baseline) {
        if let Some(base_rate) = base.error_rate() {
            if base.requests >= t.min_requests && rate - base_rate > max_inc {
                return Verdict::Fail(format!(
                    "5xx rate {} exceeds the stable version's {} by more than {:.1} points",
                    pct(rate),
                    pct(base_rate),
                    max_inc * 100.0
                ));
            }
        }
    }
    if let Some(g) = m.gates.iter().find(|g| g.too_few()) {
        return Verdict::Inconclusive(format!(
            "custom metric {}: {} published minute(s), fewer than its minimum of {}",
            g.gate, g.points, g.min_points
        ));
    }
    Verdict::Pass
}

/// "5xx rate 8.1%", saying how many of the failures were the ALB's connection errors.
fn rate_of(w: &TargetGroupMetrics) -> String {
    let rate = pct(w.error_rate().unwrap_or(0.0));
    match elb_side_failures(w) {
        None => format!("5xx rate {rate}"),
        Some(parts) => format!("5xx rate {rate} ({parts})"),
    }
}

/// "98 connection errors, 12 never answered: the ALB's 504s": the failures the load balancer
/// answered itself, which no target's 5xx shows; None when there were none.
pub fn elb_side_failures(w: &TargetGroupMetrics) -> Option<String> {
    elb_side_text(w.connection_errors, w.unanswered)
}

/// The same wording from the two counts (the comparison keeps them per minute).
pub fn elb_side_text(connection_errors: f64, unanswered: f64) -> Option<String> {
    let mut parts = Vec::new();
    if connection_errors > 0.0 {
        parts.push(format!("{} connection errors", count(connection_errors)));
    }
    if unanswered > 0.0 {
        parts.push(format!("{} never answered: the ALB's 504s", count(unanswered)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The absolute gates a window breaks, if any ("5xx rate 10.2% > 5.0%").
/// Where nothing compares, the new version may have up to twice the stable version's rate as
/// measured before and during the rollout, taken at its 97.5% upper bound (Clopper-Pearson,
/// statrs): a healthy release at the stable rate stays under it, a broken one does not. None
/// when the stable version served too little to measure.
fn uncompared_gate(reference: Option<&TargetGroupMetrics>, min_requests: f64) -> Option<f64> {
    use statrs::distribution::{Beta, ContinuousCDF};
    let r = reference.filter(|r| r.requests >= min_requests)?;
    let (n, k) = (r.requests.round(), r.errors().round().min(r.requests.round()));
    let upper = if k >= n {
        1.0
    } else {
        Beta::new(k + 1.0, n - k).ok()?.inverse_cdf(0.975)
    };
    Some((2.0 * upper).min(1.0))
}

fn breach(w: &TargetGroupMetrics, t: &Thresholds) -> Option<String> {
    let rate = w.error_rate().unwrap_or(0.0);
    if let Some(max) = t.max_error_rate {
        if rate > max {
            return Some(format!("{} > {}", rate_of(w), pct(max)));
        }
    }
    None
}

/// Whether a window's errors are too many to be a `max_error_rate` release's bad luck: the
/// chance of at least this many 5xx among its requests at exactly the gate's rate is under 5%
/// (a one-sided binomial test). A latency breach needs no such test here.
fn beyond_chance(w: &TargetGroupMetrics, t: &Thresholds) -> bool {
    let Some(max) = t.max_error_rate else {
        return true;
    };
    let (n, k) = (w.requests.round(), w.errors().round());
    if w.error_rate().unwrap_or(0.0) <= max {
        return true; // not an error-rate breach: nothing to test
    }
    binomial_upper_tail(n, k, max) < 0.05
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
