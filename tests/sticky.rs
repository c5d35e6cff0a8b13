//! Target-group stickiness on the forward action: clients stay with the slot they were first
//! sent to for the cookie's duration, whatever the weights. A rollback turns it off (the
//! default) or keeps the new slot serving its pinned clients; a success never scales down an
//! old slot that pinned clients still reach. The simulator shows where their requests went.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use support::{run_action, Aws, Sim, Slots};

/// Turns target-group stickiness on for `seconds` (simulated) on the production listener.
async fn stick(aws: &Aws, s: &Slots, seconds: i32) {
    aws.elb
        .modify_listener()
        .listener_arn(&s.listener)
        .default_actions(support::forward_to_blue(s, Some(seconds)))
        .send()
        .await
        .expect("ModifyListener");
}

async fn sticky_now(aws: &Aws, s: &Slots) -> bool {
    let out = aws
        .elb
        .describe_listeners()
        .listener_arns(&s.listener)
        .send()
        .await
        .expect("DescribeListeners");
    out.listeners()[0].default_actions()[0]
        .forward_config()
        .and_then(|f| f.target_group_stickiness_config())
        .and_then(|c| c.enabled())
        .unwrap_or(false)
}

/// Requests the green target group got in the minutes from `since` on, once published.
async fn green_requests_since(aws: &Aws, s: &Slots, since: SystemTime) -> f64 {
    tokio::time::sleep(Duration::from_secs(5)).await; // CloudWatch's lag: 1-3 simulated minutes
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    let dims: Vec<Dimension> = s.green_dimensions().to_vec();
    let out = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("g")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/ApplicationELB")
                                .metric_name("RequestCount")
                                .set_dimensions(Some(dims))
                                .build(),
                        )
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .build(),
        )
        .start_time(aws_smithy_types::DateTime::from(since))
        .end_time(aws_smithy_types::DateTime::from(SystemTime::now()))
        .send()
        .await
        .expect("GetMetricData");
    out.metric_data_results()[0].values().iter().sum()
}

fn inputs<'a>(s: &'a Slots, image: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("listener-arn", s.listener.as_str()),
        ("strategy", "canary"),
        ("canary-steps", "50,100"),
        ("bake-time", "4s"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("max-5xx-rate", "5%"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "1s"),
    ];
    v.extend_from_slice(extra);
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sticky_canary_rolled_back_turns_stickiness_off_and_its_clients_leave_it_at_once() {
    let aws = Aws::new("sticky_unstick").await;
    let s = aws.slots("sticky-unstick", 2).await;
    stick(&aws, &s, 3600).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.3}));
    let run = run_action(&aws, &inputs(&s, &image, &[]), &[]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("target-group stickiness is on (1m)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Target-group stickiness turned off"),
        "{}",
        run.stdout
    );
    assert!(!sticky_now(&aws, &s).await, "the rollback turned stickiness off");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    // Where the pinned clients went: from the first whole minute after the rollback, nowhere
    // near the canary (it was also scaled to 0).
    let after = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(green_requests_since(&aws, &s, after).await, 0.0);
    assert_eq!(aws.service(&s.cluster, "web-green").await.desired_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_serving_leaves_the_canary_up_for_the_clients_still_pinned_to_it() {
    let aws = Aws::new("sticky_keep").await;
    let s = aws.slots("sticky-keep", 2).await;
    stick(&aws, &s, 3600).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.3}));
    let run = run_action(&aws, &inputs(&s, &image, &[("sticky-rollback", "keep-serving")]), &[]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("New slot left running for its pinned clients"),
        "{}",
        run.stdout
    );
    assert!(sticky_now(&aws, &s).await, "stickiness is kept");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    // The weights say blue, yet clients pinned during the 50% step still reach green.
    let after = SystemTime::now() + Duration::from_secs(1);
    assert!(green_requests_since(&aws, &s, after).await > 0.0);
    assert_eq!(aws.service(&s.cluster, "web-green").await.desired_count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_success_under_long_stickiness_leaves_the_old_slot_running_and_says_why() {
    let aws = Aws::new("sticky_success").await;
    let s = aws.slots("sticky-success", 2).await;
    stick(&aws, &s, 604_800).await; // 7 days: 2.8 hours at the simulator's pace
                                    // Visitors stay 10 minutes, then come back without a cookie: new ones follow the weights.
    Sim::shared().put("/_sim/config", serde_json::json!({"sticky_session_seconds": 600}));
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(&aws, &inputs(&s, &image, &[("strategy", "blue-green")]), &[]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("then leave it running: target-group stickiness pins clients to it for"),
        "the plan says so: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Old slot left running for its pinned clients"),
        "{}",
        run.stdout
    );
    assert_eq!(aws.service(&s.cluster, "web-blue").await.desired_count(), 2);
    assert!(sticky_now(&aws, &s).await, "a success never changes stickiness");
}
