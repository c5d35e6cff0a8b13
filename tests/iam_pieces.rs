//! The pieces of `iam/` (docs/iam.md, "Pieces by feature"): together they are exactly the
//! shipped iam-policy.json, and a feature run without the piece it needs stops at the refused
//! call, naming the action, before it changes the service. Each feature's own run under exactly
//! its pieces is in that feature's test file (rolling.rs, migrations.rs, autoscaling.rs,
//! native.rs, codedeploy.rs, chain.rs, accounts.rs).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use support::{pieces_policy, repo_root, run_action, Aws};

#[test]
fn the_pieces_are_the_shipped_policy_cut_once() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("iam/pieces.json")).unwrap()).unwrap();
    let names: Vec<&str> = manifest["pieces"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let composed: serde_json::Value = serde_json::from_str(&pieces_policy(&names)).unwrap();
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("iam-policy.json")).unwrap()).unwrap();
    let key = |s: &serde_json::Value| s["Sid"].as_str().unwrap().to_string();
    let mut a: Vec<serde_json::Value> = composed["Statement"].as_array().unwrap().clone();
    let mut b: Vec<serde_json::Value> = shipped["Statement"].as_array().unwrap().clone();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(
        a, b,
        "run scripts/iam-pieces.py after changing iam-policy.json or iam/pieces.json"
    );
}

/// A rolling service with a scalable target, under `core` without `auto-scaling`: the run
/// stops at the refused RegisterScalableTarget, names it, and the service keeps its revision.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_piece_is_named_before_the_service_changes() {
    let setup = Aws::new("pieces_setup").await;
    let (cluster, image, _) = support::one_service(&setup, "pieces-aas").await;
    aws_sdk_applicationautoscaling::Client::new(&setup.config)
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(format!("service/{cluster}/api"))
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .expect("RegisterScalableTarget");
    let before = setup
        .service(&cluster, "api")
        .await
        .task_definition()
        .map(str::to_string);
    let runner = Aws::with_pieces("pieces_runner", &["core"]).await;
    let run = run_action(
        &runner,
        &[("cluster", &cluster), ("services", "api"), ("image", &image)],
        &[],
    );
    run.assert_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("application-autoscaling:RegisterScalableTarget"), "{all}");
    assert_eq!(
        setup
            .service(&cluster, "api")
            .await
            .task_definition()
            .map(str::to_string),
        before,
        "the service is untouched"
    );
    // The lock, the scaling state saved on the service before it is suspended (the tag
    // `ecs-deploy:scaling`, README "Auto scaling"), and the refused call; nothing deployed.
    let changed: Vec<String> = support::mutations(&runner.access_key)
        .into_iter()
        .filter(|op| !matches!(op.as_str(), "PutParameter" | "TagResource" | "RegisterScalableTarget"))
        .collect();
    assert_eq!(
        changed,
        Vec::<String>::new(),
        "nothing but the lock, the saved state and the refused call"
    );
}
