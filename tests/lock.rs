//! The deploy lock: one deploy per service at a time, through a tag on the service.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws};

const LOCK: &str = "ecs-deploy:lock";

async fn set_lock(aws: &Aws, arn: &str, value: &str) {
    aws.ecs
        .tag_resource()
        .resource_arn(arn)
        .tags(aws_sdk_ecs::types::Tag::builder().key(LOCK).value(value).build())
        .send()
        .await
        .expect("TagResource");
    // Another caller (the action) sees it only after ECS's tag delay (2.5 s simulated).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

/// The lock tag as another caller sees it once ECS's tag delay has passed.
async fn lock_tag_settled(aws: &Aws, arn: &str) -> Option<String> {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    aws.tag_value(arn, LOCK).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_lock_fails_fast_without_any_change() {
    let aws = Aws::new("lock_held").await;
    let (cluster, image, arn) = support::one_service(&aws, "lock-held").await;
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let holder = format!("777/2@{far}+c0ffee");
    set_lock(&aws, &arn, &holder).await;
    let runner = Aws::new("lock_held_run").await;
    let run = run_action(
        &runner,
        &[("cluster", &cluster), ("services", "api"), ("image", &image)],
        &[],
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason").contains(
            "is being deployed by run 777 attempt 2 (https://github.com/acme/shop/actions/runs/777/attempts/2)"
        ),
        "{}",
        run.output("rolled-back-reason")
    );
    assert!(support::mutations(&runner.access_key).is_empty(), "no change at all");
    assert_eq!(
        lock_tag_settled(&aws, &arn).await.as_deref(),
        Some(holder.as_str()),
        "left alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_lock_is_taken_over_with_a_warning() {
    let aws = Aws::new("lock_stale").await;
    let (cluster, image, arn) = support::one_service(&aws, "lock-stale").await;
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];

    // Expired long ago.
    set_lock(&aws, &arn, "555/1@1000000000+dead00").await;
    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    let warning = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning title=Stale deploy lock taken over::"))
        .unwrap_or_else(|| panic!("no warning:\n{}", run.stdout));
    assert!(warning.contains("run 555 attempt 1"), "{warning}");
    assert_eq!(lock_tag_settled(&aws, &arn).await, None, "released after the run");

    // Left by an earlier attempt of the same run (a killed job, re-run): taken over at once.
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    set_lock(&aws, &arn, &format!("1001/1@{far}+beef00")).await;
    let run = run_action(&aws, &inputs, &[("GITHUB_RUN_ATTEMPT", "2")]);
    run.assert_code(0);
    assert!(run.stdout.contains("taken by attempt 1 of this run"), "{}", run.stdout);
    assert_eq!(lock_tag_settled(&aws, &arn).await, None);
}
