//! A rolling deploy of a service paced by its own deployment configuration: with 50..100%,
//! ECS replaces one task at a time (stop one old, start one new, wait for it), and the action,
//! with its defaults, follows it to the end.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{run_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn a_service_paced_one_task_at_a_time_deploys_with_the_defaults() {
    let aws = Aws::new("paced").await;
    let (cluster, repo) = ("c-paced", "app-paced");
    aws.create_cluster(cluster).await;
    aws.push_image(repo, "v1").await;
    aws.push_image(repo, "v2").await;
    let td = aws.register("paced-api", &[("app", &Aws::image_uri(repo, "v1"))]).await;
    aws.create_paced_service(cluster, "api", &td, 3, (100, 50)).await;
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let run = run_action(
        &aws,
        &[
            ("cluster", cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(repo, "v2")),
        ],
        &[],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    // Never more than 3 tasks, so the new ones came in rounds: more than one start event.
    let service = aws.service(cluster, "api").await;
    let starts: Vec<&str> = service
        .events()
        .iter()
        .filter_map(|e| e.message())
        .filter(|m| m.contains("has started"))
        .collect();
    assert!(
        starts.len() >= 3,
        "one initial start, then at least two rounds: {starts:?}"
    );
    let deployments: Vec<serde_json::Value> = Sim::shared()
        .get(&format!("/_sim/events?since={since}"))
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["type"] == "deployment_completed")
        .collect();
    assert!(!deployments.is_empty());
}
