//! A composite alarm in `alarms:` (issue 29, item 8): the simulator evaluates its rule, so
//! when the metric alarm it names goes to ALARM on the canary's 5xx, the composite does, and
//! the action rolls the canary back on it. Absolute gates are off: only the alarm can see it.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn a_composite_alarm_going_to_alarm_rolls_the_canary_back() {
    let aws = Aws::new("composite").await;
    let s = aws.slots("composite", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 2000}}),
    );
    let digest = aws.push_image(&s.repo, "v2").await;
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.2}));
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    cw.put_metric_alarm()
        .alarm_name("composite-green-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .set_dimensions(Some(s.green_dimensions().to_vec()))
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    cw.put_composite_alarm()
        .alarm_name("composite-service-health")
        .alarm_rule(r#"ALARM("composite-green-5xx") OR ALARM("composite-no-such-alarm")"#)
        .send()
        .await
        .expect("PutCompositeAlarm");
    let image = Aws::image_uri(&s.repo, "v2");
    let inputs = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image.as_str()),
        ("listener-arn", s.listener.as_str()),
        ("strategy", "canary"),
        ("canary-steps", "25,100"),
        ("bake-time", "10s"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "0s"),
        ("judge", "threshold"),
        ("max-5xx-rate", "off"),
        ("alarms", "composite-service-health"),
    ];
    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("at 25% traffic") && reason.contains("alarm composite-service-health is in ALARM"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}
