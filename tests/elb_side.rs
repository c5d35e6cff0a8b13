//! Failures only the load balancer sees: a canary whose targets reset connections answers no
//! 5xx itself (the ALB's 502s carry no target-group dimension), and a target that turns
//! unhealthy mid-step. Both must fail the step they happen in, through the canary target
//! group's `TargetConnectionErrorCount` and `UnHealthyHostCount`.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::Duration;

use support::{spawn_action, Aws, Sim, Slots};

fn inputs<'a>(s: &'a Slots, image: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("listener-arn", s.listener.as_str()),
        ("strategy", "canary"),
        ("canary-steps", "10,50,100"),
        ("bake-time", "6s"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("max-5xx-rate", "5%"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "1s"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_whose_targets_reset_connections_fails_on_the_albs_connection_errors() {
    let aws = Aws::new("elb_reset").await;
    let s = aws.slots("elb-reset", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // Healthy to the health checks, but a fifth of the requests are refused: ELB 502s.
    Sim::shared().scenario(&digest, serde_json::json!({"connection_error_rate": 0.2}));
    let run = spawn_action(&aws, &inputs(&s, &image), &[]);
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 10% traffic") && reason.contains("connection errors"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_target_turning_unhealthy_mid_step_fails_that_step() {
    let aws = Aws::new("elb_unhealthy").await;
    let s = aws.slots("elb-unhealthy", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = spawn_action(&aws, &inputs(&s, &image), &[]);
    support::when_green_has(&aws, &s, 10, Duration::ZERO).await;
    // Its health checks start failing; its answers stay 200s, so only the ALB can tell.
    Sim::shared().scenario(&digest, serde_json::json!({"unhealthy": true}));
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 10% traffic") && reason.contains("unhealthy behind the load balancer"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}
