//! Application Auto Scaling suspended for exactly the deploy, through the real binary against
//! the simulator (which clamps a service's count into its range on every registration, as AWS
//! does): resumed after a success, a failure, SIGTERM; the range follows the traffic; what a
//! killed run left is restored.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace, SuspendedState};
use support::{one_service, run_action, spawn_action, Aws, Sim, Slots};

fn client(aws: &Aws) -> aws_sdk_applicationautoscaling::Client {
    aws_sdk_applicationautoscaling::Client::new(&aws.config)
}

fn suspended_state(all: bool) -> SuspendedState {
    SuspendedState::builder()
        .dynamic_scaling_in_suspended(all)
        .dynamic_scaling_out_suspended(all)
        .scheduled_scaling_suspended(all)
        .build()
}

async fn register(aws: &Aws, cluster: &str, service: &str, min: i32, max: i32) {
    client(aws)
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(format!("service/{cluster}/{service}"))
        .min_capacity(min)
        .max_capacity(max)
        .send()
        .await
        .expect("RegisterScalableTarget");
}

/// (min, max, all three suspended) of a service's target.
async fn target(aws: &Aws, cluster: &str, service: &str) -> (i32, i32, bool) {
    let out = client(aws)
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(format!("service/{cluster}/{service}"))
        .send()
        .await
        .expect("DescribeScalableTargets");
    let t = &out.scalable_targets()[0];
    let s = t.suspended_state();
    let all = [
        s.and_then(|s| s.dynamic_scaling_in_suspended()),
        s.and_then(|s| s.dynamic_scaling_out_suspended()),
        s.and_then(|s| s.scheduled_scaling_suspended()),
    ]
    .iter()
    .all(|v| *v == Some(true));
    (t.min_capacity(), t.max_capacity(), all)
}

fn canary<'a>(s: &'a Slots, image: &'a str, bake: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", s.listener.as_str()),
        ("canary-steps", "10,100"),
        ("bake-time", bake),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("keep-old-for", "1s"),
        ("wait-timeout", "1m"),
    ]
}

/// Both slots under auto scaling: production (blue) 2..10, the idle green 0..10.
async fn scaled_slots(aws: &Aws, test: &str) -> Slots {
    let s = aws.slots(test, 2).await;
    register(aws, &s.cluster, "web-blue", 2, 10).await;
    register(aws, &s.cluster, "web-green", 0, 10).await;
    s
}

async fn until_green_serves(aws: &Aws, s: &Slots) {
    let t = Instant::now();
    while aws.weights(&s.listener, s).await.1 == 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "traffic never moved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_is_suspended_while_the_canary_runs_and_the_range_moves_with_the_traffic() {
    // Under exactly the pieces of iam/ this needs: a canary on two slots, with auto scaling.
    let aws = Aws::with_pieces("aas_ok", &["core", "two-slot", "metrics", "auto-scaling"]).await;
    let s = scaled_slots(&aws, "aas-ok").await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let action = spawn_action(&aws, &canary(&s, &image, "3s"), &[]);
    until_green_serves(&aws, &s).await;
    assert!(
        target(&aws, &s.cluster, "web-blue").await.2,
        "production suspended mid-canary"
    );
    assert!(
        target(&aws, &s.cluster, "web-green").await.2,
        "the canary suspended mid-canary"
    );
    let run = action.wait();
    run.assert_code(0);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
    assert_eq!(
        target(&aws, &s.cluster, "web-green").await,
        (2, 10, false),
        "production's range, resumed"
    );
    assert_eq!(
        target(&aws, &s.cluster, "web-blue").await,
        (0, 10, false),
        "the retired slot may stay at 0"
    );
    assert_eq!(aws.service(&s.cluster, "web-blue").await.desired_count(), 0, "and does");
    assert_eq!(aws.service(&s.cluster, "web-green").await.desired_count(), 2);
    let green = aws.service(&s.cluster, "web-green").await;
    assert_eq!(
        aws.tag_value_settled(green.service_arn().unwrap(), "ecs-deploy:scaling", None)
            .await,
        None,
        "the saved state is removed once put back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_is_resumed_after_a_failed_canary_and_after_sigterm() {
    let aws = Aws::new("aas_fail").await;
    let s = scaled_slots(&aws, "aas-fail").await;
    let bad = aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.3}));
    let image = Aws::image_uri(&s.repo, "bad");
    let run = run_action(&aws, &canary(&s, &image, "3s"), &[]);
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    assert_eq!(target(&aws, &s.cluster, "web-blue").await, (2, 10, false));
    assert_eq!(target(&aws, &s.cluster, "web-green").await, (0, 10, false));

    aws.push_image(&s.repo, "v3").await;
    let image = Aws::image_uri(&s.repo, "v3");
    let action = spawn_action(&aws, &canary(&s, &image, "60s"), &[]);
    until_green_serves(&aws, &s).await;
    action.signal("TERM");
    let run = action.wait();
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "cancelled");
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    assert_eq!(
        target(&aws, &s.cluster, "web-blue").await,
        (2, 10, false),
        "resumed before exit"
    );
    assert_eq!(target(&aws, &s.cluster, "web-green").await, (0, 10, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_killed_run_left_suspended_is_restored_by_the_next_and_off_means_off() {
    let aws = Aws::new("aas_killed").await;
    let (cluster, image, arn) = one_service(&aws, "aas-killed").await;
    register(&aws, &cluster, "api", 1, 4).await;
    // A killed run: the target suspended, its saved state on the service.
    client(&aws)
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(format!("service/{cluster}/api"))
        .suspended_state(suspended_state(true))
        .send()
        .await
        .unwrap();
    aws.ecs
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("ecs-deploy:scaling")
                .value("in=0,out=0,scheduled=0,min=1,max=4")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];
    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("an earlier run left its auto scaling suspended"),
        "{}",
        run.stdout
    );
    assert_eq!(target(&aws, &cluster, "api").await, (1, 4, false));

    // `suspend-auto-scaling: false`: not a single Application Auto Scaling call.
    let before = Sim::shared().calls(&aws.access_key).len();
    let run = run_action(&aws, &[&inputs[..], &[("suspend-auto-scaling", "false")]].concat(), &[]);
    run.assert_code(0);
    let calls = Sim::shared().calls(&aws.access_key);
    assert!(
        !calls[before..]
            .iter()
            .any(|c| c["service"] == "application-autoscaling"),
        "{:?}",
        &calls[before..]
    );
}
