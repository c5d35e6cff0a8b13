//! A canary on a listener rule (`listener-arn` is a rule ARN, as teams that shift with
//! `aws elbv2 modify-rule` have it): the rule carries its share of the listener's traffic in
//! the simulator, so the canary's analysis judges real requests through the rule.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use aws_sdk_elasticloadbalancingv2::types as elb;
use support::{run_action, Aws, Sim, Slots};

/// A path-pattern rule on the production listener forwarding to blue (100) and green (0).
async fn api_rule(aws: &Aws, s: &Slots) -> String {
    let tg = |arn: &str, weight: i32| {
        elb::TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    let out = aws
        .elb
        .create_rule()
        .listener_arn(&s.listener)
        .priority(10)
        .conditions(
            elb::RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(elb::PathPatternConditionConfig::builder().values("/api/*").build())
                .build(),
        )
        .actions(
            elb::Action::builder()
                .r#type(elb::ActionTypeEnum::Forward)
                .forward_config(
                    elb::ForwardActionConfig::builder()
                        .target_groups(tg(&s.blue_tg, 100))
                        .target_groups(tg(&s.green_tg, 0))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateRule");
    out.rules()[0].rule_arn().expect("rule arn").to_string()
}

async fn rule_weights(aws: &Aws, rule: &str, s: &Slots) -> (i32, i32) {
    let out = aws
        .elb
        .describe_rules()
        .rule_arns(rule)
        .send()
        .await
        .expect("DescribeRules");
    let tgs = out.rules()[0].actions()[0]
        .forward_config()
        .map(|f| f.target_groups().to_vec())
        .unwrap_or_default();
    let w = |arn: &str| {
        tgs.iter()
            .find(|t| t.target_group_arn() == Some(arn))
            .and_then(|t| t.weight())
            .unwrap_or(0)
    };
    (w(&s.blue_tg), w(&s.green_tg))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_canary_on_a_listener_rule_is_caught_by_its_metrics_and_rolled_back() {
    let aws = Aws::new("rule_canary").await;
    let s = aws.slots("rule-canary", 2).await;
    let rule = api_rule(&aws, &s).await;
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
    assert_eq!(rule_weights(&aws, &rule, &s).await, (100, 0));
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
