//! A canary whose targets hang (issue 29, item 5): the ALB answers its requests 504 at the idle
//! timeout, which no target 5xx count and no response time shows. The action counts them as
//! the new version's failures (requests in its group's `RequestCount` with no target code,
//! bounded by the load balancer's own 5xx) and rolls back, against the simulator.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_that_hangs_is_rolled_back_on_the_albs_504s() {
    let aws = Aws::new("hang").await;
    let s = aws.slots("hang", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 2000}}),
    );
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // One request in ten never answered; no 5xx from the target, no slow response time.
    Sim::shared().scenario(&digest, serde_json::json!({"hang_rate": 0.1}));
    let inputs = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image.as_str()),
        ("listener-arn", s.listener.as_str()),
        ("strategy", "canary"),
        ("canary-steps", "25,100"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("bake-time", "10s"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "0s"),
    ];
    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 25% traffic"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("never answered: the ALB's 504s"),
        "the log names the 504s: {}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}
