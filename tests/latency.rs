//! `max-p99-latency` against the simulator, whose minutes carry the response times of the
//! requests they served (a small canary's minute p99 is nearly its slowest request, as on
//! AWS): a healthy canary at 5% is not rolled back on a noisy minute, and a slow one is, on the
//! count of its requests slower than the limit (CloudWatch's percentile rank).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws, Sim, Slots};

fn inputs<'a>(s: &'a Slots, image: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("listener-arn", s.listener.as_str()),
        ("strategy", "canary"),
        ("canary-steps", "5,10,100"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "0s"),
        // The scenarios' true p99 is 50 ms: 0.3% of requests take longer than 60 ms.
        ("max-p99-latency", "60ms"),
    ];
    v.extend_from_slice(extra);
    v
}

/// The canary's minutes whose p99, as the log prints it, is above the limit.
fn minutes_over(stdout: &str, limit_ms: f64) -> usize {
    stdout
        .lines()
        .filter(|l| l.contains("analysis at 5%") || l.contains("analysis at 10%"))
        .filter_map(|l| l.split("p99 ").nth(1)?.split(" ms").next()?.trim().parse::<f64>().ok())
        .filter(|p| *p > limit_ms)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_small_canary_is_not_rolled_back_on_a_noisy_minute() {
    let aws = Aws::new("lat_ok").await;
    let s = aws.slots("lat-ok", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 1000}}),
    );
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(&aws, &inputs(&s, &image, &[("bake-time", "8s")]), &[]);
    run.assert_code(0);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
    println!(
        "minutes at 5–10% whose p99 broke 60 ms by chance: {}",
        minutes_over(&run.stdout, 60.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_slower_than_the_limit_is_rolled_back_on_its_slow_requests() {
    let aws = Aws::new("lat_bad").await;
    let s = aws.slots("lat-bad", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 1000}}),
    );
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // A p99 of 150 ms: about 10% of its requests take longer than 60 ms.
    Sim::shared().scenario(&digest, serde_json::json!({"p99_ms": 150, "mean_ms": 30}));
    let run = run_action(&aws, &inputs(&s, &image, &[("bake-time", "8s")]), &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 5% traffic") && reason.contains("p99 latency above 60 ms"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(reason.contains("requests slower"), "{reason}");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}
