//! Blue/green, canary and linear through the real binary against the simulator's ALB,
//! metrics and alarms. Bake times are seconds; the simulator runs a minute per second.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use support::{run_action, spawn_action, Aws, Sim, Slots};

fn inputs<'a>(s: &'a Slots, image: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", s.listener.as_str()),
        ("canary-steps", "5,10,25,50,100"),
        ("bake-time", "2s"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("keep-old-for", "1s"),
        ("wait-timeout", "1m"),
    ];
    for (k, val) in extra {
        v.retain(|(key, _)| key != k);
        v.push((k, val));
    }
    v
}

async fn desired(aws: &Aws, s: &Slots, service: &str) -> i32 {
    aws.service(&s.cluster, service).await.desired_count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_canary_walks_to_100_and_retires_the_old_slot() {
    let aws = Aws::new("canary_ok").await;
    let s = aws.slots("canary-ok", 2).await;
    let v2 = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(&aws, &inputs(&s, &image, &[]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
    assert_eq!(
        desired(&aws, &s, "web-blue").await,
        0,
        "the old slot is scaled to 0 after keep-old-for"
    );
    assert_eq!(
        desired(&aws, &s, "web-green").await,
        2,
        "the new slot runs the live slot's count"
    );
    let green = aws.service(&s.cluster, "web-green").await;
    let (td, _) = aws.task_definition(green.task_definition().unwrap()).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
    for w in ["| 5% |", "| 10% |", "| 25% |", "| 50% |", "| 100% |"] {
        assert!(run.summary.contains(w), "timeline step {w} missing:\n{}", run.summary);
    }
    assert!(run.summary.contains("xychart-beta"), "{}", run.summary);
    assert!(run.stdout.contains("keeping web-blue warm"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_8_percent_5xx_rate_is_rolled_back_at_the_first_step() {
    let aws = Aws::new("canary_5xx").await;
    let s = aws.slots("canary-5xx", 2).await;
    // Enough traffic that 5% of it shows the 8% in the step's own minutes: at the default
    // ~600 a minute, 30 requests with no 5xx (8% of runs) pass the step on what it saw, and
    // the late minutes then fail it while 10% is already set.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"requests_per_minute_by_lb": {s.load_balancer.as_str(): 6000}}),
    );
    let bad = aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.08}));
    let image = Aws::image_uri(&s.repo, "bad");
    let run = run_action(&aws, &inputs(&s, &image, &[("bake-time", "2s")]), &[]);
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 5% traffic") && reason.contains("5xx rate"),
        "{reason}"
    );
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (100, 0),
        "weights read back at 100/0"
    );
    assert_eq!(
        desired(&aws, &s, "web-green").await,
        0,
        "the canary slot is scaled down"
    );
    assert_eq!(desired(&aws, &s, "web-blue").await, 2);
    assert!(
        !run.summary.contains("| 10% |"),
        "never went past the first step:\n{}",
        run.summary
    );
    assert!(run.stdout.contains("read back after"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_at_the_third_step_rolls_back() {
    let aws = Aws::new("canary_alarm").await;
    let s = aws.slots("canary-alarm", 2).await;
    aws.push_image(&s.repo, "v2").await;
    // The green target group gets 300 requests a (simulated) minute at 100% (600 split over the
    // listener and the test listener): it crosses 120 only from 50% on.
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    let dims = s.green_dimensions();
    cw.put_metric_alarm()
        .alarm_name("canary-alarm-green-busy")
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .set_dimensions(Some(dims.to_vec()))
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(120.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("canary-steps", "5,10,50,100"),
                ("bake-time", "3s"),
                ("alarms", "canary-alarm-green-busy"),
            ],
        ),
        &[],
    );
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("at 50% traffic") && reason.contains("alarm canary-alarm-green-busy is in ALARM"),
        "{reason}"
    );
    assert!(
        run.summary.contains("| 10% |") && run.summary.contains("| 50% |"),
        "{}",
        run.summary
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_traffic_is_inconclusive_and_handled_per_config() {
    let aws = Aws::new("canary_quiet").await;
    let s = aws.slots("canary-quiet", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // Far more requests required than the load balancer gets: no evidence.
    let run = run_action(
        &aws,
        &inputs(&s, &image, &[("canary-steps", "10,100"), ("min-requests", "100000000")]),
        &[],
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason").contains("inconclusive"),
        "{}",
        run.output("rolled-back-reason")
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));

    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("canary-steps", "10,100"),
                ("min-requests", "100000000"),
                ("on-inconclusive", "continue"),
            ],
        ),
        &[],
    );
    run.assert_code(0);
    assert!(
        run.stdout.contains("Inconclusive analysis"),
        "a warning says so:\n{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_smoke_check_rolls_back_before_any_production_traffic() {
    let aws = Aws::new("canary_smoke").await;
    let s = aws.slots("canary-smoke", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let url = Sim::shared().url("/_sim/no-such-page");
    let run = run_action(
        &aws,
        &inputs(&s, &image, &[("smoke-url", &url), ("smoke-timeout", "2s")]),
        &[],
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason")
            .contains("smoke check failed before any production traffic"),
        "{}",
        run.output("rolled-back-reason")
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    assert_eq!(desired(&aws, &s, "web-green").await, 0);
    let listener_changes = Sim::shared()
        .calls(&aws.access_key)
        .iter()
        .filter(|c| c["operation"] == "ModifyListener" && c["status"] == 200)
        .count();
    // Only the rollback's own (no-op) restore touched the listener; never a production weight.
    assert!(listener_changes <= 1, "{listener_changes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_canary_restores_the_weights_before_exit() {
    let aws = Aws::new("canary_term").await;
    let s = aws.slots("canary-term", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let action = spawn_action(&aws, &inputs(&s, &image, &[("bake-time", "60s")]), &[]);
    let t = Instant::now();
    while aws.weights(&s.listener, &s).await.1 == 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "traffic never moved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signalled = Instant::now();
    action.signal("TERM");
    let run = action.wait();
    let took = signalled.elapsed();
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "cancelled");
    assert!(took < Duration::from_secs(2), "weights restored and exited in {took:?}");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_after_kill_9_converges_without_a_second_split() {
    let aws = Aws::new("canary_kill").await;
    let s = aws.slots("canary-kill", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let mut action = spawn_action(&aws, &inputs(&s, &image, &[("bake-time", "60s")]), &[]);
    let t = Instant::now();
    while aws.weights(&s.listener, &s).await.1 == 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "traffic never moved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    action.child.kill().expect("kill -9");
    let _ = action.child.wait();
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (95, 5),
        "the killed run left traffic split"
    );

    // The re-run of the killed job is its next attempt: the lock the killed one left is stale.
    let rerun = [("GITHUB_RUN_ATTEMPT", "2")];
    let run = run_action(&aws, &inputs(&s, &image, &[("canary-steps", "50,100")]), &rerun);
    run.assert_code(0);
    assert!(
        run.stdout.contains("converged: all traffic back on web-blue"),
        "{}",
        run.stdout
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));

    // And with on-split: continue, a killed rollout of the same image and plan goes on from
    // the cursor it left: the step it died in is baked again in full, nothing is skipped.
    let v3 = Aws::image_uri(&s.repo, "v3");
    aws.push_image(&s.repo, "v3").await;
    let same = [("bake-time", "3s"), ("on-split", "continue")];
    let mut action = spawn_action(&aws, &inputs(&s, &v3, &same), &[]);
    let t = Instant::now();
    while aws.weights(&s.listener, &s).await.0 == 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "traffic never moved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    action.child.kill().expect("kill -9");
    let _ = action.child.wait();
    let run = run_action(&aws, &inputs(&s, &v3, &same), &rerun);
    run.assert_code(0);
    assert!(
        run.stdout.contains("continuing the interrupted rollout at step") && run.stdout.contains("(5% on web-blue)"),
        "{}",
        run.stdout
    );
    assert!(
        run.summary.contains("| 5% |"),
        "the step it died in is baked again:\n{}",
        run.summary
    );
    assert!(
        !run.stdout.contains("::group::Step 1/"),
        "the steps before the cursor are not run again:\n{}",
        run.stdout
    );
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (100, 0),
        "blue is the new live slot"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_green_checks_the_new_slot_through_the_test_listener() {
    let aws = Aws::new("bluegreen").await;
    let s = aws.slots("bluegreen", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let health = Sim::shared().url("/_sim/health");
    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[
                ("strategy", "blue-green"),
                ("test-listener-arn", &s.test_listener),
                ("smoke-url", &health),
            ],
        ),
        &[],
    );
    run.assert_code(0);
    assert!(
        run.stdout.contains("test listener now forwards to web-green"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("smoke check: HTTP 200"), "{}", run.stdout);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
    assert_eq!(aws.weights(&s.test_listener, &s).await, (0, 100));
    assert!(
        run.summary.contains("| 100% |") && !run.summary.contains("| 5% |"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn linear_moves_a_fixed_share_each_bake() {
    let aws = Aws::new("linear").await;
    let s = aws.slots("linear", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &aws,
        &inputs(&s, &image, &[("strategy", "linear"), ("linear-step", "40")]),
        &[],
    );
    run.assert_code(0);
    for w in ["| 40% |", "| 80% |", "| 100% |"] {
        assert!(run.summary.contains(w), "{w}:\n{}", run.summary);
    }
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_topology_is_refused_before_any_change() {
    let aws = Aws::new("topology").await;
    let s = aws.slots("topology", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    // Both slots at weight 0.
    aws.elb
        .modify_listener()
        .listener_arn(&s.listener)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .forward_config(
                    aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
                        .target_groups(
                            aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                                .target_group_arn(&s.blue_tg)
                                .weight(0)
                                .build(),
                        )
                        .target_groups(
                            aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                                .target_group_arn(&s.green_tg)
                                .weight(0)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = support::access_key("topology_run");
    let runner = Aws::new("topology_run").await;
    let run = run_action(&runner, &inputs(&s, &image, &[]), &[]);
    run.assert_code(1);
    assert!(run.stdout.contains("both slots are at weight 0"), "{}", run.stdout);
    let mutating: Vec<_> = Sim::shared()
        .calls(&key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_step_holds_traffic_and_a_gated_rerun_continues_it() {
    let aws = Aws::new("canary_pause").await;
    let s = aws.slots("canary-pause", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(&aws, &inputs(&s, &image, &[("canary-steps", "10,pause,50,100")]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "paused");
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (90, 10),
        "traffic is held at the pause"
    );

    // The gated job resumes it.
    let run = run_action(
        &aws,
        &inputs(
            &s,
            &image,
            &[("canary-steps", "10,pause,50,100"), ("on-split", "continue")],
        ),
        &[("GITHUB_RUN_ID", "1002")],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(
        run.summary.contains("| 50% |") && !run.summary.contains("| 10% |"),
        "{}",
        run.summary
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
}

#[tokio::test(flavor = "multi_thread")]
async fn command_plan_prints_exactly_the_steps_the_deploy_runs() {
    let aws = Aws::new("canary_plan").await;
    let s = aws.slots("canary-plan", 2).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let settings = [("canary-steps", "25,100"), ("bake-time", "1s"), ("keep-old-for", "0s")];
    let mut plan_inputs = inputs(&s, &image, &settings);
    plan_inputs.push(("command", "plan"));
    let plan = run_action(&aws, &plan_inputs, &[]);
    plan.assert_code(0);
    assert_eq!(plan.output("outcome"), "planned");
    let printed: Vec<String> = plan
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.split_once(' ').is_some_and(|(n, _)| n.contains('/')))
        .map(str::to_string)
        .collect();
    assert!(printed.len() >= 8, "{}", plan.stdout);
    assert!(!printed.iter().any(|l| l.contains("bake 0s")), "{printed:?}");
    let run = run_action(&aws, &inputs(&s, &image, &settings), &[]);
    run.assert_code(0);
    let executed: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::group::Step "))
        .map(|l| l.replace("%25", "%")) // the runner decodes a workflow command's escapes
        .collect();
    assert_eq!(printed, executed, "plan:\n{}\n\ndeploy:\n{}", plan.stdout, run.stdout);
}

/// What a two-slot canary cannot do without: every other input at action.yml's default.
fn required_canary_inputs<'a>(s: &'a Slots, image: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", s.listener.as_str()),
    ]
}

/// A two-slot canary named with only what it needs (`cluster`, `services`, `image`,
/// `strategy`, `listener-arn`), every other input at action.yml's default as the runner passes
/// them: the plan is the documented one, and the deploy validates, prepares the idle slot and
/// shifts the first 5%. The default 5-minute bakes are not scaled by the simulator's clock, so
/// the run is cancelled there, and cancelling puts everything back.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_required_inputs_start_the_default_canary_and_a_cancel_puts_it_back() {
    let aws = Aws::new("canary_min").await;
    let s = aws.slots("canary-min", 2).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let required = required_canary_inputs(&s, &image);
    let plan = run_action(&aws, &[&required[..], &[("command", "plan")]].concat(), &[]);
    plan.assert_code(0);
    for step in ["5%", "10%", "25%", "50%", "100%"] {
        assert!(plan.stdout.contains(step), "the default steps: {step}\n{}", plan.stdout);
    }
    let child = spawn_action(&aws, &required, &[]);
    let t = Instant::now();
    while aws.weights(&s.listener, &s).await != (95, 5) {
        assert!(t.elapsed() < Duration::from_secs(90), "never shifted the first 5%");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.signal("TERM");
    let run = child.wait();
    assert_eq!(run.output("outcome"), "cancelled", "{}", run.stdout);
    assert_eq!(
        aws.weights(&s.listener, &s).await,
        (100, 0),
        "traffic back on the stable slot"
    );
}

/// The same canary, run to its end at action.yml's defaults: five 5-minute bakes and 5 minutes
/// of `keep-old-for`, in real time (the action's own durations are not scaled by the
/// simulator's clock; sim/aws/README.md). About 35 minutes: `make slow`, not `make test`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow: about 35 minutes of real time (make slow)"]
async fn only_the_required_inputs_run_the_default_canary_to_success() {
    let aws = Aws::new("canary_min_full").await;
    let s = aws.slots("canary-min-full", 2).await;
    let v2 = aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let required = required_canary_inputs(&s, &image);
    let run = spawn_action(&aws, &required, &[]).wait_within(Duration::from_secs(50 * 60));
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
    let green = aws.service(&s.cluster, "web-green").await;
    let (td, _) = aws.task_definition(green.task_definition().unwrap()).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
    for w in ["| 5% |", "| 10% |", "| 25% |", "| 50% |", "| 100% |"] {
        assert!(run.summary.contains(w), "step {w} judged:\n{}", run.summary);
    }
}
