//! Provenance as a user meets it: prod takes only a release that staging recorded as judged
//! good. A staging canary still at 50% (its run killed there) and a failed rolling deploy left
//! in place both run a digest nobody judged good, and a promotion of it is refused before any
//! change, naming what staging is doing now.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::Duration;

use support::{mutations, run_action, spawn_action, when_green_has, Aws, Sim};

/// A two-stage chain: staging as `staging` describes it, prod one rolling service.
async fn chain(aws: &Aws, test: &str, staging: &str) -> (tempfile::NamedTempFile, String) {
    let prod_cluster = format!("c-{test}-prod");
    aws.create_cluster(&prod_cluster).await;
    let repo = format!("app-{test}");
    aws.push_image(&repo, "v1").await;
    let td = aws
        .register(&format!("{test}-prod-web"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    aws.create_service(&prod_cluster, "web", &td, 1).await;
    let config = tempfile::NamedTempFile::new().expect("a temp file");
    let repository = Aws::image_uri(&repo, "x")
        .rsplit_once(':')
        .expect("a tag")
        .0
        .to_string();
    std::fs::write(
        config.path(),
        format!("repository: {repository}\nstages:\n{staging}  - name: prod\n    cluster: {prod_cluster}\n    services: web\n"),
    )
    .expect("the config");
    (config, repo)
}

/// The promotion to prod of `image`: refused, with no change anywhere; returns its stdout.
async fn refused_promotion(aws: &Aws, config: &tempfile::NamedTempFile, image: &str) -> String {
    let before = mutations(&aws.access_key).len();
    let path = config.path().to_str().expect("a path");
    let run = run_action(aws, &[("config", path), ("stage", "prod"), ("image", image)], &[]);
    run.assert_code(1);
    let after = mutations(&aws.access_key);
    assert!(
        after[before..].is_empty(),
        "a refused promotion changes nothing, but made {:?}\n{}",
        &after[before..],
        run.stdout
    );
    assert!(run.stdout.contains("has not passed staging"), "{}", run.stdout);
    run.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promotion_while_stagings_canary_is_at_50_percent_is_refused() {
    let aws = Aws::new("prov_split").await;
    let s = aws.slots("prov-split-staging", 1).await;
    let staging = format!(
        "  - name: staging\n    cluster: {}\n    services: [web-blue, web-green]\n    strategy: canary\n    listener-arn: {}\n    canary-steps: [50, 100]\n    bake-time: 10m\n",
        s.cluster, s.listener
    );
    let (config, _) = chain(&aws, "prov-split", &staging).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let path = config.path().to_str().expect("a path");
    let canary = spawn_action(&aws, &[("config", path), ("stage", "staging"), ("image", &image)], &[]);
    when_green_has(&aws, &s, 50, Duration::ZERO).await;
    // The run dies at 50% (a runner lost): staging is left split, nothing judged v2 good.
    canary.signal("KILL");
    let _ = canary.wait_within(Duration::from_secs(30));
    assert_eq!(aws.weights(&s.listener, &s).await, (50, 50));
    let out = refused_promotion(&aws, &config, &image).await;
    assert!(out.contains("staging is splitting its traffic"), "{out}");
    assert!(out.contains("at 50%"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promotion_from_a_failed_rolling_deploy_left_in_place_is_refused() {
    let aws = Aws::new("prov_failed").await;
    let cluster = "c-prov-failed-staging";
    let staging = format!(
        "  - name: staging\n    cluster: {cluster}\n    services: web\n    rollback-on-failure: false\n    wait-timeout: 20s\n"
    );
    let (config, repo) = chain(&aws, "prov-failed", &staging).await;
    let repo = repo.as_str();
    aws.create_cluster(cluster).await;
    let td = aws
        .register("prov-failed-staging-web", &[("app", &Aws::image_uri(repo, "v1"))])
        .await;
    aws.create_service(cluster, "web", &td, 1).await;
    aws.wait_stable(cluster, "web").await;
    let bad = aws.push_image(repo, "v2").await;
    // Its tasks never start (nor fail, so no circuit breaker): the deploy times out, and is
    // left in place.
    Sim::shared().scenario(&bad, serde_json::json!({"start_seconds": 1000000}));
    let image = Aws::image_uri(repo, "v2");
    let path = config.path().to_str().expect("a path");
    let run = run_action(&aws, &[("config", path), ("stage", "staging"), ("image", &image)], &[]);
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure", "{}", run.stdout);
    assert_eq!(
        aws.service(cluster, "web").await.task_definition(),
        Some(run.output("task-definition-arns")),
        "left in place\n{}",
        run.stdout
    );
    let out = refused_promotion(&aws, &config, &image).await;
    assert!(out.contains("ended in failure and was left in place"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_input_beside_a_chain_that_walks_to_prod_is_refused() {
    let aws = Aws::new("prov_scope").await;
    let staging = "  - name: staging\n    cluster: c-prov-scope-staging\n    services: web\n";
    let (config, repo) = chain(&aws, "prov-scope", staging).await;
    let image = Aws::image_uri(&repo, "v1");
    let path = config.path().to_str().expect("a path");
    let before = mutations(&aws.access_key).len();
    let run = run_action(
        &aws,
        &[
            ("config", path),
            ("stage", "staging"),
            ("until", "prod"),
            ("cluster", "somewhere-else"),
            ("image", &image),
        ],
        &[],
    );
    run.assert_code(2);
    assert!(
        run.stdout.contains("::error title=Invalid input%3A cluster::")
            && run.stdout.contains("walks from `staging` to `prod`"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key).len(), before, "refused before any change");

    // A value in the file that does not read is one input error, never a default.
    let broken = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(
        broken.path(),
        "stages:\n  - name: prod\n    cluster: c-prov-scope-prod\n    services: web\n    bake-time: {minutes: 5}\n",
    )
    .expect("the config");
    let path = broken.path().to_str().expect("a path");
    let run = run_action(&aws, &[("config", path), ("stage", "prod"), ("image", &image)], &[]);
    run.assert_code(2);
    assert!(
        run.stdout.contains("::error title=Invalid input%3A config::"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key).len(), before, "refused before any change");
}
