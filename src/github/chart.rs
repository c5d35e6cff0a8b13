//! The timeline's chart, drawn to show a failure: per step (labelled by its weight), the
//! metric that decided on its own axis (p99 when latency failed the step, else the 5xx rate),
//! the limit as a line, and with `judge: compare` the stable version's rate as a second line.
//! Steps without data are left out (never drawn as 0), a line is drawn only through two points
//! or more (Mermaid draws no one-point line), and with no data there is no chart.

use crate::domain::analysis::Thresholds;
use crate::domain::report::StepRecord;

/// Which metric the chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    ErrorRate,
    P99,
}

pub fn chart(steps: &[StepRecord], limits: Option<&Thresholds>) -> String {
    let latency_failed = steps
        .last()
        .is_some_and(|s| s.verdict.starts_with("fail") && (s.verdict.contains("p99") || s.verdict.contains("slower")));
    let metric = if latency_failed { Metric::P99 } else { Metric::ErrorRate };
    let points: Vec<(String, f64, Option<f64>)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let c = s.canary?;
            let value = match metric {
                Metric::ErrorRate => c.error_rate()? * 100.0,
                Metric::P99 => c.p99_ms?,
            };
            let stable = s.comparison.and_then(|cmp| {
                let (errors, requests) = cmp.errors.stable;
                (metric == Metric::ErrorRate && requests > 0.0).then(|| errors / requests * 100.0)
            });
            Some((format!("\"{}: {}%\"", i + 1, s.weight), value, stable))
        })
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let limit = limits.and_then(|t| match metric {
        Metric::ErrorRate => t.max_error_rate.map(|r| r * 100.0),
        Metric::P99 => t.max_p99_ms,
    });
    let (what, unit) = match metric {
        Metric::ErrorRate => ("5xx rate of the new version", "%"),
        Metric::P99 => ("p99 latency of the new version", "ms"),
    };
    let top = points
        .iter()
        .flat_map(|(_, v, s)| [Some(*v), *s])
        .flatten()
        .chain(limit)
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(top * 1.2);
    let fmt = |v: f64| match metric {
        Metric::ErrorRate => format!("{v:.2}"),
        Metric::P99 => format!("{v:.0}"),
    };
    let mut title = format!("{what} per step ({unit}, bars)");
    if let Some(l) = limit {
        title.push_str(&format!(", limit {} {unit}", fmt(l)));
    }
    // The stable version's line only where every charted step has it: a gap is not a 0.
    let compared = points.iter().all(|(_, _, s)| s.is_some());
    if compared {
        title.push_str(", stable version (line)");
    }
    let labels: Vec<&str> = points.iter().map(|(l, _, _)| l.as_str()).collect();
    let values: Vec<String> = points.iter().map(|(_, v, _)| fmt(*v)).collect();
    let mut md = format!(
        "\n```mermaid\nxychart-beta\n    title \"{title}\"\n    x-axis \"step: traffic to the new version\" [{}]\n    y-axis \"{unit}\" 0 --> {}\n    bar [{}]\n",
        labels.join(", "),
        fmt(top),
        values.join(", ")
    );
    if points.len() >= 2 {
        if let Some(l) = limit {
            md.push_str(&format!("    line [{}]\n", vec![fmt(l); points.len()].join(", ")));
        }
        if compared {
            let stable: Vec<String> = points.iter().filter_map(|(_, _, s)| s.map(fmt)).collect();
            md.push_str(&format!("    line [{}]\n", stable.join(", ")));
        }
    }
    md.push_str("```\n");
    md
}

/// The first of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten at or above `v` (an axis that
/// reads at a glance and leaves little empty room).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|x| *x >= v - 1e-12)
        .unwrap_or(10.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analysis::TargetGroupMetrics;

    fn step(weight: u8, requests: f64, errors: f64, p99: Option<f64>, verdict: &str) -> StepRecord {
        StepRecord {
            weight,
            started_at: None,
            seconds: 60.0,
            canary: Some(TargetGroupMetrics {
                requests,
                errors_5xx: errors,
                p99_ms: p99,
                ..Default::default()
            }),
            verdict: verdict.into(),
            comparison: None,
        }
    }

    fn limits() -> Thresholds {
        Thresholds {
            max_error_rate: Some(0.01),
            max_p99_ms: Some(500.0),
            max_error_rate_increase: None,
            min_requests: 50.0,
            max_error_rate_uncompared: None,
        }
    }

    #[test]
    fn a_failure_at_the_first_step_still_draws_its_bar_on_its_own_scale() {
        let md = chart(
            &[step(5, 1000.0, 59.0, Some(80.0), "fail: 5xx rate 5.9% > 1.0%")],
            Some(&limits()),
        );
        assert!(
            md.contains("x-axis \"step: traffic to the new version\" [\"1: 5%\"]"),
            "{md}"
        );
        assert!(
            md.contains("y-axis \"%\" 0 --> 8.00"),
            "5.9% is not flat on a 0–100 axis: {md}"
        );
        assert!(md.contains("bar [5.90]"), "{md}");
        assert!(md.contains("limit 1.00 %"), "{md}");
        assert!(!md.contains("line ["), "no one-point line: {md}");
    }

    #[test]
    fn a_latency_failure_charts_latency_with_its_limit() {
        let md = chart(
            &[
                step(5, 1000.0, 0.0, Some(120.0), "pass"),
                step(25, 1000.0, 0.0, Some(900.0), "fail: p99 latency 900 ms > 500 ms"),
            ],
            Some(&limits()),
        );
        assert!(md.contains("p99 latency of the new version"), "{md}");
        assert!(md.contains("bar [120, 900]") && md.contains("line [500, 500]"), "{md}");
        assert!(md.contains("0 --> 1500"), "{md}");
    }

    #[test]
    fn steps_without_data_are_left_out_and_no_data_is_no_chart() {
        let mut empty = step(10, 0.0, 0.0, None, "inconclusive");
        empty.canary = None;
        let md = chart(&[step(5, 100.0, 1.0, None, "pass"), empty.clone()], None);
        assert!(md.contains("[\"1: 5%\"]") && !md.contains("2: 10%"), "{md}");
        assert_eq!(chart(&[empty], None), "");
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(7.08), 8.0);
        assert_eq!(nice_ceiling(1.2), 1.5);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
