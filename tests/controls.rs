//! `desired-count`, `force-new-deployment` and `keep-revisions` through the real binary
//! against the simulator (the shipped IAM policy enforced, as in every test).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{mutations, one_service, run_action, Aws, Sim};

async fn active_revisions(aws: &Aws, family: &str) -> Vec<String> {
    aws.ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .iter()
        .map(|a| a.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn desired_count_sets_the_count_and_a_rollback_puts_the_old_one_back() {
    let aws = Aws::new("ctl_desired").await;
    let (cluster, image, _) = one_service(&aws, "ctl-desired").await;
    let run = run_action(
        &aws,
        &[
            ("cluster", &cluster),
            ("services", "api"),
            ("image", &image),
            ("desired-count", "3"),
        ],
        &[],
    );
    run.assert_code(0);
    let svc = aws.service(&cluster, "api").await;
    assert_eq!(svc.desired_count(), 3);
    assert_eq!(svc.running_count(), 3);
    assert!(
        run.stdout.contains("with 3 task(s)") || run.stdout.contains("desired 3"),
        "{}",
        run.stdout
    );

    // A release that crashes, deployed with 5: rolled back to the previous revision and count.
    let bad = aws.push_image("app-ctl-desired", "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"crash": true, "exit_code": 1}));
    let run = run_action(
        &aws,
        &[
            ("cluster", &cluster),
            ("services", "api"),
            ("image", &Aws::image_uri("app-ctl-desired", "bad")),
            ("desired-count", "5"),
        ],
        &[],
    );
    run.assert_code(1);
    let svc = aws.service(&cluster, "api").await;
    assert_eq!(svc.desired_count(), 3, "the count before the failed deploy");
    assert_eq!(
        svc.task_definition().unwrap().rsplit('/').next(),
        Some("ctl-desired-api:2")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_revisions_leaves_the_newest_and_never_the_running_or_previous_one() {
    let aws = Aws::new("ctl_keep").await;
    let (cluster, _, _) = one_service(&aws, "ctl-keep").await;
    for n in 2..=6 {
        aws.push_image("app-ctl-keep", &format!("r{n}")).await;
        let image = Aws::image_uri("app-ctl-keep", &format!("r{n}"));
        let run = run_action(
            &aws,
            &[
                ("cluster", &cluster),
                ("services", "api"),
                ("image", &image),
                ("keep-revisions", "3"),
            ],
            &[],
        );
        run.assert_code(0);
    }
    // Revisions 1 (the fixture's) to 6: the three newest stay, the service runs the newest,
    // the previous one is among them.
    assert_eq!(
        active_revisions(&aws, "ctl-keep-api").await,
        ["ctl-keep-api:4", "ctl-keep-api:5", "ctl-keep-api:6"]
    );
    let calls: Vec<String> = mutations(&aws.access_key);
    assert_eq!(calls.iter().filter(|c| *c == "DeregisterTaskDefinition").count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_value_of_each_new_input_is_one_clear_error_and_no_aws_call() {
    let aws = Aws::new("ctl_bad").await;
    for (input, bad) in [
        ("desired-count", "-1"),
        ("force-new-deployment", "maybe"),
        ("keep-revisions", "1"),
        ("suspend-auto-scaling", "sometimes"),
        ("role-to-assume", "prod-deployer"),
        ("role-to-assume", "arn:aws:iam::12345:role/x"),
        ("native-canary-percent", "0%"),
        ("native-bake-time", "30s"),
        ("wait-until", "forever"),
    ] {
        let run = run_action(
            &aws,
            &[("cluster", "c"), ("services", "api"), ("image", "app:v2"), (input, bad)],
            &[],
        );
        run.assert_code(2);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 1, "{input}: {errors:?}");
        assert!(errors[0].contains(input), "{}", errors[0]);
    }
    assert!(Sim::shared().calls(&aws.access_key).is_empty(), "no AWS call");
}

/// The config file's custom metric gates and multi-image `images:` are checked with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_metric_gate_or_images_entry_is_one_clear_error_and_no_aws_call() {
    let aws = Aws::new("ctl_bad_file").await;
    let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    for (file, want) in [
        (
            "metrics:\n  - {name: q, namespace: N, metric: M, statistic: Avg, threshold: 1}\nstages:\n  - {name: prod, cluster: c, services: [a, b], strategy: canary, listener-arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2'}\n".to_string(),
            "`Avg` is not a statistic",
        ),
        (
            "stages:\n  - name: dev\n    cluster: c\n    services: [api]\n    metrics: [{name: q, namespace: N, metric: M, statistic: Sum, threshold: 1}]\n".to_string(),
            "has metric gates but deploys with rolling",
        ),
        (
            format!("repository: {ecr}/app\nimages:\n  api: {ecr}/api\nstages:\n  - {{name: dev, cluster: c, services: [api]}}\n"),
            "sets both `repository` and `images`",
        ),
        (
            "images:\n  api: docker.io/library/nginx\nstages:\n  - {name: dev, cluster: c, services: [api]}\n".to_string(),
            "is not a container name and an ECR repository",
        ),
    ] {
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(config.path(), &file).unwrap();
        let run = run_action(
            &aws,
            &[("config", config.path().to_str().unwrap()), ("stage", "dev"), ("image", &format!("{ecr}/api:v1"))],
            &[],
        );
        let stage_prod = file.contains("name: prod");
        let run = if stage_prod {
            run_action(
                &aws,
                &[("config", config.path().to_str().unwrap()), ("stage", "prod"), ("image", &format!("{ecr}/api:v1"))],
                &[],
            )
        } else {
            run
        };
        run.assert_code(2);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 1, "{want}: {}", run.stdout);
        assert!(errors[0].contains(want), "{}", errors[0]);
    }
    assert!(Sim::shared().calls(&aws.access_key).is_empty(), "no AWS call");
}

#[tokio::test(flavor = "multi_thread")]
async fn force_new_deployment_deploys_a_release_the_stage_already_runs() {
    let aws = Aws::new("ctl_force").await;
    let (cluster, image, _) = one_service(&aws, "ctl-force").await;
    let config = tempfile::NamedTempFile::new().unwrap();
    let repository = image.rsplit_once(':').unwrap().0;
    std::fs::write(
        config.path(),
        format!("repository: {repository}\nstages:\n  - name: dev\n    cluster: {cluster}\n    services: [api]\n"),
    )
    .unwrap();
    let path = config.path().to_str().unwrap();
    let inputs = [("config", path), ("stage", "dev"), ("image", image.as_str())];
    let revision =
        |svc: aws_sdk_ecs::types::Service| svc.task_definition().unwrap().rsplit('/').next().unwrap().to_string();
    run_action(&aws, &inputs, &[]).assert_code(0);
    assert_eq!(revision(aws.service(&cluster, "api").await), "ctl-force-api:2");

    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
    assert_eq!(revision(aws.service(&cluster, "api").await), "ctl-force-api:2");

    let mut forced = inputs.to_vec();
    forced.push(("force-new-deployment", "true"));
    let run = run_action(&aws, &forced, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("deploying it again"), "{}", run.stdout);
    let svc = aws.service(&cluster, "api").await;
    assert_eq!(
        revision(svc.clone()),
        "ctl-force-api:3",
        "a new revision, so a new ECS deployment"
    );
    assert_eq!(svc.deployments().len(), 1, "and it completed");
}

#[tokio::test(flavor = "multi_thread")]
async fn desired_count_sizes_the_new_slot_of_a_canary() {
    let aws = Aws::new("ctl_slot").await;
    let s = aws.slots("ctl-slot", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &aws,
        &[
            ("cluster", s.cluster.as_str()),
            ("services", "web-blue, web-green"),
            ("image", image.as_str()),
            ("strategy", "canary"),
            ("listener-arn", s.listener.as_str()),
            ("canary-steps", "50,100"),
            ("bake-time", "1s"),
            ("analysis-interval", "1s"),
            ("min-requests", "10"),
            ("keep-old-for", "0s"),
            ("desired-count", "3"),
        ],
        &[],
    );
    run.assert_code(0);
    assert_eq!(aws.service(&s.cluster, "web-green").await.desired_count(), 3);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
}
