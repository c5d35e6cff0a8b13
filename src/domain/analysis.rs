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
    /// What the step's window covers ("minutes 10:41–10:45 of 10:41–10:46, 1,180 requests"),
    /// when measured on CloudWatch's minutes; otherwise the window is `window_secs`.
    pub coverage: Option<String>,
    /// The most recent published minutes alone, and their span ("10:43–10:44"): a regression
    /// that starts late in a step is not diluted there by the healthy minutes before it.
    pub recent: Option<(TargetGroupMetrics, String)>,
    /// The custom metric gates' readings of the new slot over the step (`metrics:`).
    pub gates: Vec<super::metric_gate::GateReading>,
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
    if let (Some(max), Some(p99)) = (t.max_p99_ms, c.p99_ms) {
        if p99 > max {
            return Verdict::Fail(format!("p99 latency {p99:.0} ms > {max:.0} ms over {window}"));
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
    if w.connection_errors > 0.0 {
        format!("5xx rate {rate} ({} connection errors)", count(w.connection_errors))
    } else {
        format!("5xx rate {rate}")
    }
}

/// The absolute gates a window breaks, if any ("5xx rate 10.2% > 5.0%").
fn breach(w: &TargetGroupMetrics, t: &Thresholds) -> Option<String> {
    let rate = w.error_rate().unwrap_or(0.0);
    if let Some(max) = t.max_error_rate {
        if rate > max {
            return Some(format!("{} > {}", rate_of(w), pct(max)));
        }
    }
    match (t.max_p99_ms, w.p99_ms) {
        (Some(max), Some(p99)) if p99 > max => Some(format!("p99 latency {p99:.0} ms > {max:.0} ms")),
        _ => None,
    }
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
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds {
            max_error_rate: Some(0.01),
            max_p99_ms: Some(500.0),
            max_error_rate_increase: Some(0.005),
            min_requests: 100.0,
        }
    }
    fn m(requests: f64, errors: f64, p99: f64) -> Measurement {
        Measurement {
            canary: TargetGroupMetrics {
                requests,
                errors_5xx: errors,
                p99_ms: Some(p99),
                ..Default::default()
            },
            baseline: Some(TargetGroupMetrics {
                requests: 10_000.0,
                errors_5xx: 10.0,
                p99_ms: Some(80.0),
                ..Default::default()
            }),
            window_secs: 60,
            ..Default::default()
        }
    }

    fn reading(minutes: &[f64]) -> super::super::metric_gate::GateReading {
        use super::super::metric_gate::{Direction, GateReading, GateSource, MetricGate, MetricQuery};
        let gate = MetricGate {
            name: "queue-errors".into(),
            source: GateSource::Metric(MetricQuery {
                id: "m1".into(),
                namespace: "TaskQueue/Production".into(),
                metric: "ErrorRate".into(),
                dimensions: vec![],
                statistic: "Average".into(),
            }),
            threshold: 2.0,
            direction: Direction::Above,
            min_points: 2,
        };
        GateReading::of(&gate, minutes)
    }

    #[test]
    fn verdict_table() {
        let cases: Vec<(&str, Measurement, &str)> = vec![
            ("healthy", m(1204.0, 1.0, 90.0), "pass"),
            (
                "error rate over",
                m(1204.0, 97.5, 90.0),
                "fail: 5xx rate 8.1% > 1.0% over 60 s, 1,204 requests",
            ),
            (
                "latency over",
                m(1204.0, 0.0, 900.0),
                "fail: p99 latency 900 ms > 500 ms over 60 s",
            ),
            (
                "too few requests",
                m(40.0, 40.0, 90.0),
                "inconclusive: 40 requests in 60 s, fewer than the minimum sample of 100",
            ),
            (
                "a crashing canary: the ALB's connection errors count, its 5xx are none",
                Measurement {
                    canary: TargetGroupMetrics {
                        connection_errors: 97.5,
                        ..m(1204.0, 0.0, 90.0).canary
                    },
                    ..m(0.0, 0.0, 0.0)
                },
                "fail: 5xx rate 8.1% (98 connection errors) > 1.0% over 60 s, 1,204 requests",
            ),
            (
                "an unhealthy target in the new slot, even with too few requests to judge",
                Measurement {
                    canary: TargetGroupMetrics {
                        unhealthy_hosts: 1.0,
                        ..m(40.0, 0.0, 90.0).canary
                    },
                    ..m(0.0, 0.0, 0.0)
                },
                "fail: 1 target(s) of the new slot unhealthy behind the load balancer (UnHealthyHostCount)",
            ),
            (
                "worse than baseline",
                m(1000.0, 8.0, 90.0),
                "fail: 5xx rate 0.8% exceeds the stable version's 0.1% by more than 0.5 points",
            ),
            (
                "a custom gate over its threshold fails a step the ALB passes",
                Measurement {
                    gates: vec![reading(&[3.0, 5.0])],
                    ..m(1204.0, 1.0, 90.0)
                },
                "fail: custom metric queue-errors 4 > 2 over 2 published minute(s)",
            ),
            (
                "a custom gate without its minimum sample is inconclusive, not a pass",
                Measurement {
                    gates: vec![reading(&[1.0])],
                    ..m(1204.0, 1.0, 90.0)
                },
                "inconclusive: custom metric queue-errors: 1 published minute(s), fewer than its minimum of 2",
            ),
            (
                "a custom gate within its threshold passes",
                Measurement {
                    gates: vec![reading(&[1.0, 1.5])],
                    ..m(1204.0, 1.0, 90.0)
                },
                "pass",
            ),
            (
                "query failed",
                Measurement {
                    query_error: Some("throttled".into()),
                    ..m(1000.0, 0.0, 1.0)
                },
                "error: throttled",
            ),
            (
                "a regression in the last minutes fails though the step's average passes",
                Measurement {
                    recent: Some((
                        TargetGroupMetrics {
                            requests: 1204.0,
                            errors_5xx: 123.0,
                            p99_ms: Some(90.0),
                            ..Default::default()
                        },
                        "10:43–10:44".into(),
                    )),
                    coverage: Some("minutes 10:41–10:44 of 10:41–10:45, 6,000 requests".into()),
                    ..m(6000.0, 240.0, 90.0)
                },
                "fail: 5xx rate 10.2% > 1.0% over 10:43–10:44 (1,204 requests); 5xx 4.0% over the step",
            ),
            (
                "a quiet recent window does not fail a healthy step",
                Measurement {
                    recent: Some((
                        TargetGroupMetrics {
                            requests: 20.0,
                            errors_5xx: 2.0,
                            p99_ms: Some(90.0),
                            ..Default::default()
                        },
                        "10:44".into(),
                    )),
                    ..m(1204.0, 1.0, 90.0)
                },
                "pass",
            ),
            (
                "alarm beats a metrics error",
                Measurement {
                    alarms_firing: vec!["api-5xx".into()],
                    query_error: Some("GetMetricData: throttled".into()),
                    ..m(1000.0, 0.0, 1.0)
                },
                "fail: alarm api-5xx is in ALARM",
            ),
            (
                "alarm beats low traffic",
                Measurement {
                    alarms_firing: vec!["api-5xx".into()],
                    ..m(0.0, 0.0, 1.0)
                },
                "fail: alarm api-5xx is in ALARM",
            ),
        ];
        for (name, meas, want) in cases {
            assert_eq!(judge(&meas, &t()).to_string(), want, "{name}");
        }
    }
}
