//! The action under a policy that lacks an action it needs: the run stops at the refused
//! call, names the action and the fix, changes nothing else, and does not ask again.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{repo_root, run_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_without_update_service_stops_the_run_naming_it_and_changes_nothing() {
    let setup = Aws::new("iam_setup").await;
    let (cluster, image, _) = support::one_service(&setup, "iam-missing").await;
    let before = setup
        .service(&cluster, "api")
        .await
        .task_definition()
        .map(str::to_string);
    let runner = Aws::new("iam_runner").await;
    let shipped = std::fs::read_to_string(repo_root().join("iam-policy.json")).expect("iam-policy.json");
    let without = shipped.replace("\"ecs:UpdateService\"", "\"ecs:UpdateServicePrimaryTaskSet\"");
    assert_ne!(shipped, without);
    Sim::shared().put(
        "/_sim/iam",
        serde_json::json!({"access_key": runner.access_key, "template": without}),
    );
    let run = run_action(
        &runner,
        &[("cluster", &cluster), ("services", "api"), ("image", &image)],
        &[],
    );
    run.assert_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("not authorized to perform: ecs:UpdateService") && all.contains("Grant `ecs:UpdateService`"),
        "{all}"
    );
    assert!(!all.contains("not accepted yet"), "a refusal is not asked again: {all}");
    let updates = Sim::shared()
        .calls(&runner.access_key)
        .into_iter()
        .filter(|c| c["operation"] == "UpdateService")
        .count();
    assert_eq!(
        updates, 1,
        "one refused UpdateService, no rollback of a change never made"
    );
    assert_eq!(
        setup
            .service(&cluster, "api")
            .await
            .task_definition()
            .map(str::to_string),
        before,
        "the service is untouched"
    );
}

/// Without `elasticloadbalancing:ModifyListener`, a canary's first weight change is refused
/// after the new slot was scaled up: the run scales it back to 0 and reports that production
/// never moved (it is not "not rolled back; needs a person").
#[tokio::test(flavor = "multi_thread")]
async fn a_policy_without_modify_listener_leaves_production_where_it_was_and_says_so() {
    let setup = Aws::new("iam_ml_setup").await;
    let s = setup.slots("iam-ml", 1).await;
    setup.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let runner = Aws::new("iam_ml_runner").await;
    let shipped = std::fs::read_to_string(repo_root().join("iam-policy.json")).expect("iam-policy.json");
    let without = shipped.replace(
        "\"elasticloadbalancing:ModifyListener\",",
        "\"elasticloadbalancing:ModifyLoadBalancerAttributes\",",
    );
    assert_ne!(shipped, without);
    Sim::shared().put(
        "/_sim/iam",
        serde_json::json!({"access_key": runner.access_key, "template": without}),
    );
    let run = run_action(
        &runner,
        &[
            ("cluster", s.cluster.as_str()),
            ("services", "web-blue, web-green"),
            ("image", &image),
            ("strategy", "canary"),
            ("listener-arn", s.listener.as_str()),
            ("canary-steps", "50,100"),
            ("bake-time", "2s"),
            ("analysis-interval", "1s"),
            ("min-requests", "10"),
            ("wait-timeout", "1m"),
        ],
        &[],
    );
    run.assert_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("elasticloadbalancing:ModifyListener"), "{all}");
    assert!(all.contains("production never moved"), "{all}");
    assert!(!all.contains("NOT rolled back"), "{all}");
    assert_eq!(setup.weights(&s.listener, &s).await, (100, 0), "production never moved");
    assert_eq!(
        setup.service(&s.cluster, "web-green").await.desired_count(),
        0,
        "the new slot is scaled back"
    );
}
