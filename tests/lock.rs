//! The deploy lock: one deploy per service at a time, through a tag on the service.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, spawn_action, Aws, Sim};

const LOCK: &str = "ecs-deploy:lock";

async fn service_arn(aws: &Aws, cluster: &str, name: &str) -> String {
    aws.service(cluster, name).await.service_arn().unwrap().to_string()
}

async fn lock_tag(aws: &Aws, arn: &str) -> Option<String> {
    let out = aws
        .ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("ListTagsForResource");
    out.tags()
        .iter()
        .find(|t| t.key() == Some(LOCK))
        .and_then(|t| t.value())
        .map(str::to_string)
}

async fn set_lock(aws: &Aws, arn: &str, value: &str) {
    aws.ecs
        .tag_resource()
        .resource_arn(arn)
        .tags(aws_sdk_ecs::types::Tag::builder().key(LOCK).value(value).build())
        .send()
        .await
        .expect("TagResource");
}

/// A cluster with one service on v1, and v2 pushed; returns (cluster, image v2, service ARN).
async fn one_service(aws: &Aws, test: &str) -> (String, String, String) {
    let cluster = format!("c-{test}");
    let repo = format!("app-{test}");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    aws.push_image(&repo, "v2").await;
    let td = aws
        .register(&format!("{test}-api"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    aws.create_service(&cluster, "api", &td, 1).await;
    let arn = service_arn(aws, &cluster, "api").await;
    (cluster, Aws::image_uri(&repo, "v2"), arn)
}

fn mutations(access_key: &str) -> Vec<String> {
    Sim::shared()
        .calls(access_key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .map(|c| c["operation"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_at_once_exactly_one_proceeds_and_the_other_names_the_holder() {
    let setup = Aws::new("lock_race").await;
    let (cluster, image, arn) = one_service(&setup, "lock-race").await;
    let a = Aws::new("lock_race_a").await;
    let b = Aws::new("lock_race_b").await;
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];
    let run_a = spawn_action(&a, &inputs, &[("GITHUB_RUN_ID", "2001")]);
    let run_b = spawn_action(&b, &inputs, &[("GITHUB_RUN_ID", "2002")]);
    let (ra, rb) = (run_a.wait(), run_b.wait());

    let (winner, loser, winner_key, loser_key, winner_run) = match (ra.code, rb.code) {
        (0, 1) => (&ra, &rb, &a.access_key, &b.access_key, "2001"),
        (1, 0) => (&rb, &ra, &b.access_key, &a.access_key, "2002"),
        _ => panic!(
            "exactly one run must proceed: codes {} and {}\n--- a\n{}\n--- b\n{}",
            ra.code, rb.code, ra.stdout, rb.stdout
        ),
    };
    assert_eq!(winner.output("outcome"), "success");
    assert_eq!(loser.output("outcome"), "failure");
    let reason = loser.output("rolled-back-reason");
    assert!(
        reason.contains(&format!("is being deployed by run {winner_run} attempt 1"))
            && reason.contains(&format!("https://github.com/acme/shop/actions/runs/{winner_run}")),
        "the loser names the holder: {reason}"
    );
    assert!(
        loser.stdout.contains("::error title=Deploy failed::"),
        "{}",
        loser.stdout
    );
    // The loser changed nothing but (at most) its own lock tag, and fails fast: before the
    // winner made its first deployment change.
    let loser_changes: Vec<_> = mutations(loser_key)
        .into_iter()
        .filter(|op| op != "TagResource" && op != "UntagResource")
        .collect();
    assert!(loser_changes.is_empty(), "{loser_changes:?}");
    let loser_last = Sim::shared()
        .calls(loser_key)
        .iter()
        .filter_map(|c| c["at"].as_f64())
        .fold(0.0, f64::max);
    let winner_update = Sim::shared()
        .calls(winner_key)
        .iter()
        .filter(|c| c["operation"] == "UpdateService")
        .filter_map(|c| c["at"].as_f64())
        .fold(f64::MAX, f64::min);
    assert!(
        loser_last < winner_update,
        "the loser was done before the winner changed the service"
    );
    assert!(mutations(winner_key).contains(&"UpdateService".to_string()));
    assert_eq!(lock_tag(&setup, &arn).await, None, "the winner released its lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_lock_fails_fast_without_any_change() {
    let aws = Aws::new("lock_held").await;
    let (cluster, image, arn) = one_service(&aws, "lock-held").await;
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
    assert!(mutations(&runner.access_key).is_empty(), "no change at all");
    assert_eq!(
        lock_tag(&aws, &arn).await.as_deref(),
        Some(holder.as_str()),
        "left alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_lock_is_taken_over_with_a_warning() {
    let aws = Aws::new("lock_stale").await;
    let (cluster, image, arn) = one_service(&aws, "lock-stale").await;
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
    assert_eq!(lock_tag(&aws, &arn).await, None, "released after the run");

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
    assert_eq!(lock_tag(&aws, &arn).await, None);
}
