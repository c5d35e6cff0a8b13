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
