//! The analysis verdicts on measurements whose answer is known.
use super::*;

fn t() -> Thresholds {
    Thresholds {
        max_error_rate: Some(0.01),
        max_p99_ms: Some(500.0),
        max_error_rate_increase: Some(0.005),
        min_requests: 100.0,
        max_error_rate_uncompared: None,
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
fn the_uncompared_gate_judges_only_where_the_stable_version_served_too_little() {
    let gate = Thresholds {
        max_error_rate: None,
        max_error_rate_uncompared: Some(0.01),
        max_error_rate_increase: None,
        ..t()
    };
    let mut full = m(1000.0, 50.0, 100.0);
    full.baseline = Some(TargetGroupMetrics::default());
    assert!(
        matches!(judge(&full, &gate), Verdict::Fail(_)),
        "100%: nothing to compare"
    );
    let mut canary = m(1000.0, 50.0, 100.0);
    canary.baseline = Some(TargetGroupMetrics {
        requests: 19_000.0,
        ..Default::default()
    });
    assert_eq!(judge(&canary, &gate), Verdict::Pass, "the comparison judges here");
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
            "a minute's p99 over the limit alone is no evidence",
            m(1204.0, 0.0, 900.0),
            "pass",
        ),
        (
            "the rollout's latency evidence over what a rollback needs",
            Measurement {
                latency: Some(crate::domain::latency::SlowReading {
                    evidence: 25.0,
                    needs: 20.0,
                    limit_ms: 500.0,
                    requests: 1204.0,
                    slow: 48.0,
                    minutes: 3,
                }),
                ..m(1204.0, 0.0, 900.0)
            },
            "fail: p99 latency above 500 ms: 48 of 1,204 requests slower (4.0%, a p99 objective allows 1%) over 3 minutes; evidence 25.0 (a rollback needs 20)",
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
                coverage: Some("minutes 10:41–10:45 (4 of 5 published; 10:45 not yet), 6,000 requests".into()),
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
