//! A canary on a listener rule (`listener-arn` is a rule ARN, as teams that shift with
//! `aws elbv2 modify-rule` have it): the rule carries its share of the listener's traffic in
//! the simulator, so the canary's analysis judges real requests through the rule.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_canary_on_a_listener_rule_is_caught_by_its_metrics_and_rolled_back() {
    let aws = Aws::new("rule_canary").await;
    let s = aws.slots("rule-canary", 2).await;
    let rule = aws.api_rule(&s).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // The rule takes half of its listener's requests; the new version answers 30% 5xx.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"rule_shares": {rule.as_str(): 0.5},
                           "requests_per_minute_by_lb": {s.load_balancer.as_str(): 2400}}),
    );
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.3}));
    let run = run_action(
        &aws,
        &[
            ("cluster", s.cluster.as_str()),
            ("services", "web-blue, web-green"),
            ("image", &image),
            ("listener-arn", &rule),
            ("strategy", "canary"),
            ("canary-steps", "10,50,100"),
            ("bake-time", "6s"),
            ("analysis-interval", "1s"),
            ("min-requests", "10"),
            ("max-5xx-rate", "5%"),
            ("wait-timeout", "1m"),
            ("keep-old-for", "1s"),
        ],
        &[],
    );
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 10% traffic") && reason.contains("5xx rate"),
        "{reason}\n{}",
        run.stdout
    );
    // The rule, not the listener's default action, was shifted and is back on blue.
    assert_eq!(aws.rule_weights(&rule, &s).await, (100, 0));
    let shifted: Vec<serde_json::Value> = Sim::shared()
        .get("/_sim/events")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["type"] == "weights_changed" && e["listener"] == rule.as_str())
        .collect();
    assert!(shifted.len() >= 2, "to 10% and back: {shifted:?}");
    // The metrics were read in CloudWatch's current protocol (the SDK is not pinned to awsQuery).
    let reads: Vec<serde_json::Value> = Sim::shared()
        .calls(&aws.access_key)
        .into_iter()
        .filter(|c| c["operation"] == "GetMetricData")
        .collect();
    assert!(
        !reads.is_empty() && reads.iter().all(|c| c["protocol"] == "rpc-v2-cbor"),
        "{reads:?}"
    );
}
