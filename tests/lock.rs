//! The deploy lock: one deploy per service at a time, through a versioned SSM parameter per
//! service (`/ecs-deploy-action/lock/<cluster>/<service>`).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws};

fn parameter(cluster: &str) -> String {
    format!("/ecs-deploy-action/lock/{cluster}/api")
}

/// The newest version of the lock as another caller sees it, once Parameter Store's read
/// delay (2.5 s simulated) has passed: (version, value).
async fn lock_settled(aws: &Aws, cluster: &str) -> Option<(i64, String)> {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let ssm = aws_sdk_ssm::Client::new(&aws.config);
    let got = ssm
        .get_parameters()
        .names(parameter(cluster))
        .send()
        .await
        .expect("GetParameters");
    got.parameters()
        .first()
        .map(|p| (p.version(), p.value().unwrap_or_default().to_string()))
}

/// Another run's lock: `holder`, written right after the version there now (so it counts).
async fn set_lock(aws: &Aws, cluster: &str, holder: &str) {
    let after = lock_settled(aws, cluster).await.map_or(0, |(v, _)| v);
    aws_sdk_ssm::Client::new(&aws.config)
        .put_parameter()
        .name(parameter(cluster))
        .value(format!("{holder};after={after}"))
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("PutParameter");
    // Another caller (the action) reads it only after Parameter Store's delay.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_lock_fails_fast_without_any_change() {
    let aws = Aws::new("lock_held").await;
    let (cluster, image, _) = support::one_service(&aws, "lock-held").await;
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let holder = format!("777/2@{far}+c0ffee");
    set_lock(&aws, &cluster, &holder).await;
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
        lock_settled(&aws, &cluster).await.map(|(_, v)| v),
        Some(format!("{holder};after=0")),
        "left alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_lock_is_taken_over_with_a_warning() {
    let aws = Aws::new("lock_stale").await;
    let (cluster, image, _) = support::one_service(&aws, "lock-stale").await;
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];

    // Expired long ago.
    set_lock(&aws, &cluster, "555/1@1000000000+dead00").await;
    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    let warning = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning title=Stale deploy lock taken over::"))
        .unwrap_or_else(|| panic!("no warning:\n{}", run.stdout));
    assert!(warning.contains("run 555 attempt 1"), "{warning}");
    let (version, value) = lock_settled(&aws, &cluster).await.unwrap();
    assert_eq!(
        (version, value.as_str()),
        (3, "free;after=2"),
        "taken over (version 2) and released after the run"
    );

    // Left by an earlier attempt of the same run (a killed job, re-run): taken over at once.
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    set_lock(&aws, &cluster, &format!("1001/1@{far}+beef00")).await;
    let run = run_action(&aws, &inputs, &[("GITHUB_RUN_ATTEMPT", "2")]);
    run.assert_code(0);
    assert!(run.stdout.contains("taken by attempt 1 of this run"), "{}", run.stdout);
    assert_eq!(
        lock_settled(&aws, &cluster).await.map(|(_, v)| v),
        Some("free;after=5".to_string())
    );
}
