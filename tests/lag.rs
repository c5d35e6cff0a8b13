//! Judging on CloudWatch's real clock, against the simulator with its publication lag on
//! (time-scaled: a simulated minute is a real second, the lag 1-3 s): a regression that starts
//! late in a step fails that step; one that starts after the shift, while the old slot is still
//! warm, is rolled back by weights; a step whose minutes are not published in time is
//! inconclusive, never a pass.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use support::{run_action, spawn_action, Aws, Sim, Slots};

fn inputs<'a>(s: &'a Slots, image: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("listener-arn", s.listener.as_str()),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("max-5xx-rate", "5%"),
        ("wait-timeout", "1m"),
        ("keep-old-for", "1s"),
    ];
    for (k, val) in extra {
        v.retain(|(key, _)| key != k);
        v.push((k, val));
    }
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_regression_in_the_last_minute_of_a_step_fails_that_step() {
    let aws = Aws::new("lag_last_minute").await;
    let s = aws.slots("lag-last", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // Eight minutes at 10%; the new version turns bad (15% 5xx) 6.6 minutes in. The step's last
    // minute holds its bake's end, so 1.4 to 2 of its last two minutes are bad whatever the minute
    // grid's phase: 10.5% or more over them, under 4.5% over the step's eight, under the 5% gate.
    // Five times the default traffic, so the last minutes are clear evidence, not a few requests.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 3000}}),
    );
    let run = spawn_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("strategy", "canary"),
                ("canary-steps", "10,50,100"),
                ("bake-time", "8s"),
            ],
        ),
        &[],
    );
    support::when_green_has(&aws, &s, 10, Duration::from_millis(6_600)).await;
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.15}));
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 10% traffic"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(
        reason.contains("over the step"),
        "the report names the window that failed: {reason}"
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_regression_while_the_old_slot_is_warm_is_rolled_back_by_weights() {
    let aws = Aws::new("lag_keep_warm").await;
    let s = aws.slots("lag-warm", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = spawn_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[("strategy", "blue-green"), ("bake-time", "2s"), ("keep-old-for", "30s")],
        ),
        &[],
    );
    // The 100% step has baked, its minutes are in and green is recorded stable; then the
    // release turns bad while blue is still warm.
    support::when_green_has(&aws, &s, 100, Duration::ZERO).await;
    let green = aws
        .service(&s.cluster, "web-green")
        .await
        .service_arn()
        .unwrap()
        .to_string();
    let t = Instant::now();
    loop {
        let tags = aws
            .ecs
            .list_tags_for_resource()
            .resource_arn(&green)
            .send()
            .await
            .unwrap();
        if tags
            .tags()
            .iter()
            .any(|t| t.key() == Some("ecs-deploy:slot") && t.value() == Some("stable"))
        {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "green never recorded stable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.3}));
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    assert!(run.stdout.contains("keeping web-blue warm"), "{}", run.stdout);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("after the shift, while web-blue was kept warm"),
        "{reason}"
    );
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (100, 0),
        "the warm old slot has all traffic again"
    );
    let blue = aws.service(&s.cluster, "web-blue").await;
    assert_eq!(blue.desired_count(), 2, "the old slot was never scaled down");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_whose_minutes_are_not_published_in_time_is_inconclusive_never_a_pass() {
    let aws = Aws::new("lag_no_data").await;
    let s = aws.slots("lag-none", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // A one-minute step, and no patience for CloudWatch's lag: its minute is never in time.
    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("strategy", "canary"),
                ("canary-steps", "50,100"),
                ("bake-time", "1s"),
                ("metrics-delay", "0s"),
            ],
        ),
        &[],
    );
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("inconclusive") && reason.contains("had not published"),
        "{reason}"
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    // With the default delay the same step waits for its minute and passes.
    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[("strategy", "canary"), ("canary-steps", "50,100"), ("bake-time", "1s")],
        ),
        &[],
    );
    run.assert_code(0);
    assert!(run.summary.contains("pass \\(minutes"), "{}", run.summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_that_fires_late_is_laid_at_the_step_whose_traffic_tripped_it() {
    let aws = Aws::new("lag_alarm").await;
    let s = aws.slots("lag-alarm", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // Twelve minutes over 5 errors each, all twelve needed, from 3.9 s (minutes) into the 10%
    // step. The 10% step ends at the latest 8 s + its last minute + metrics-delay (5 s) later, and
    // the twelfth breaching minute ends at least 15.9 s in and is published a minute after that,
    // so the alarm can only fire in a later step, on data from the 10% step.
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    let dims = s.green_dimensions();
    cw.put_metric_alarm()
        .alarm_name("lag-alarm-green-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .set_dimensions(Some(dims.to_vec()))
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(12)
        .datapoints_to_alarm(12)
        .threshold(5.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    let run = spawn_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("strategy", "canary"),
                ("canary-steps", "10,50,100"),
                ("bake-time", "8s"),
                // The alarm alone judges: no gate, and no comparison (which would catch the
                // 50% 5xx itself, in the 10% step, before the late alarm fires).
                ("judge", "threshold"),
                ("max-5xx-rate", "off"),
                ("alarms", "lag-alarm-green-5xx"),
            ],
        ),
        &[],
    );
    support::when_green_has(&aws, &s, 10, Duration::from_millis(3_900)).await;
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.5}));
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("alarm lag-alarm-green-5xx is in ALARM since") && reason.contains("(the 10% step)"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(reason.contains("analysis failed at 10% traffic"), "{reason}");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blue_green_release_turning_bad_three_minutes_into_its_bake_is_rolled_back_before_retirement() {
    let aws = Aws::new("lag_bg_bake").await;
    let s = aws.slots("lag-bg", 2).await;
    let digest = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // The measured case: bake 5m, a 5% gate, 10% 5xx from the third minute of the 100% step on.
    // Over the whole step that reads about 4%; the last minutes read 10%.
    let run = spawn_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[("strategy", "blue-green"), ("bake-time", "5s"), ("keep-old-for", "5s")],
        ),
        &[],
    );
    support::when_green_has(&aws, &s, 100, Duration::from_secs(3)).await;
    Sim::shared().scenario(&digest, serde_json::json!({"error_rate": 0.1}));
    let run = tokio::task::spawn_blocking(move || run.wait()).await.unwrap();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 100% traffic"),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0), "back on blue by weights");
    let blue = aws.service(&s.cluster, "web-blue").await;
    assert_eq!(blue.desired_count(), 2, "blue was never retired");
}
