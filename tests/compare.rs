//! `judge: compare` against the simulator with CloudWatch's lag: a canary with a clearly worse
//! 5xx rate than the stable version fails on the comparison, and a healthy one with
//! `early-pass` passes its long canary bake early.
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
        ("canary-steps", "25,100"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("max-5xx-rate", "off"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "0s"),
        ("judge", "compare"),
    ];
    v.extend_from_slice(extra);
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_clearly_worse_than_the_stable_version_fails_on_the_comparison() {
    let aws = Aws::new("cmp_bad").await;
    let s = aws.slots("cmp-bad", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 6000}}),
    );
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // 4% 5xx against the stable version's 0%: no absolute gate (max-5xx-rate off) would see it.
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.04}));
    let run = run_action(&aws, &inputs(&s, &image, &[("bake-time", "10s")]), &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 25% traffic") && reason.contains("worse than the stable version"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_canary_with_early_pass_ends_its_steps_before_their_bake_time() {
    let aws = Aws::new("cmp_good").await;
    let s = aws.slots("cmp-good", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 30000}}),
    );
    // A service in production has served long before a deploy: five of CloudWatch's minutes
    // (5 s at the tests' 60×) give the latency comparison its reference.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &aws,
        &inputs(&s, &image, &[("bake-time", "40s"), ("early-pass", "true")]),
        &[],
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout.matches("passing early").count(),
        1,
        "the 25% step passed on the evidence before its 40 s bake; the 100% step, with no \
         stable version left to compare with, bakes its whole time: {}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("analysis at 25%: not worse than the stable version"));
    // Latency is compared too, against the stable version's p99 from before the rollout, and
    // a canary as fast as it is not called slower.
    assert!(
        run.stdout.contains("; requests slower than the stable version's "),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_slower_than_the_stable_version_in_every_minute_fails_on_latency() {
    let aws = Aws::new("cmp_slow").await;
    let s = aws.slots("cmp-slow", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 6000}}),
    );
    // The stable version's reference minutes, as in the healthy test above.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // No 5xx and no latency gate (max-p99-latency empty): only the comparison can see a p99
    // of 160 ms against the stable version's 50 ms, by its share of the requests slower than
    // the stable version's p99 from before the rollout.
    Sim::shared().scenario(&digest, serde_json::json!({"p99_ms": 160, "mean_ms": 40}));
    let run = run_action(&aws, &inputs(&s, &image, &[("bake-time", "12s")]), &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 25% traffic")
            && reason.contains("slower than the stable version: ")
            && reason.contains("p99 from before the rollout"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    let summary = &run.summary;
    assert!(summary.contains("Canary against the stable version"), "{summary}");
}

/// A canary the sequential test cannot decide is never promoted as a pass: 1.5× the stable
/// version's 5xx rate at 300 requests a minute is neither shown worse than 1.1× nor below 2×
/// at 99.999% (at 99.99%, 13 of 2,000 such rollouts decide either way within 32 minutes, by
/// the domain's seeded draws), so the step before 100% bakes its three more bake times and then
/// ends inconclusive (`on-inconclusive: fail`, the default): traffic goes back, and the
/// reason says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_canary_the_evidence_cannot_decide_is_not_promoted() {
    let aws = Aws::new("cmp_undecided").await;
    let s = aws.slots("cmp-und", 2).await;
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 300}}),
    );
    let stable = format!("{}:v1", s.repo);
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    Sim::shared().scenario(&stable, serde_json::json!({"error_rate": 0.01}));
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.015}));
    let run = run_action(
        &aws,
        &inputs(&s, &image, &[("bake-time", "8s"), ("judge-confidence", "99.999%")]),
        &[],
    );
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("inconclusive") && reason.contains("not shown to be below 2.00×"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("(3 of 3)"), "{}", run.stdout);
    assert!(reason.contains("at 25% traffic"), "never promoted: {reason}");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}
