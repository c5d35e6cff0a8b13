//! A run killed after it shifted all traffic to the new slot, before its judgement ended (the
//! 100% bake): the next run recognises the unjudged slot and takes traffic back to the old,
//! still-running slot by weights before anything else. It never adopts the unjudged release
//! as its baseline.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::Duration;

use support::{epoch_now, run_action, spawn_action, when_green_has, Aws, Sim, Slots};

fn inputs<'a>(s: &'a Slots, image: &'a str, bake: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", s.listener.as_str()),
        ("canary-steps", "50,100"),
        ("bake-time", bake),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("keep-old-for", "0s"),
        ("wait-timeout", "1m"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_in_its_100_percent_bake_is_rolled_back_by_weights_by_the_next_run() {
    let aws = Aws::new("int_full").await;
    let s = aws.slots("int-full", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let first = spawn_action(&aws, &inputs(&s, &image, "2s"), &[]);
    // Killed in the 100% bake: the 50% step bakes 2 s, then 100% bakes 2 s.
    when_green_has(&aws, &s, 100, Duration::from_millis(300)).await;
    first.signal("KILL");
    let _ = first.wait_within(Duration::from_secs(30));
    let killed_at = epoch_now();
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100), "left at 100% unjudged");
    assert!(
        aws.service(&s.cluster, "web-blue").await.desired_count() > 0,
        "the old slot still runs"
    );

    // The job re-run (a new attempt of the same run takes over its lock).
    let run = run_action(&aws, &inputs(&s, &image, "2s"), &[("GITHUB_RUN_ATTEMPT", "2")]);
    run.assert_code(0);
    assert!(run.stdout.contains("Interrupted at 100%"), "{}", run.stdout);
    // Its first weight change put all traffic back on the old slot.
    let events = Sim::shared().get("/_sim/events");
    let first_change = events
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "weights_changed" && e["listener"] == s.listener.as_str())
        .find(|e| e["at"].as_f64().is_some_and(|t| t > killed_at))
        .expect("the next run changed the weights");
    assert_eq!(
        first_change["weights"][s.blue_tg.as_str()].as_f64(),
        Some(100.0),
        "traffic back on the old slot first: {first_change}"
    );
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
}

/// A rolling run killed right after it pointed the service at its new revision: ECS finishes
/// the rollout on its own, and the revision still says `ecs-deploy:result=pending`. The job's
/// re-run finishes that judgement from what ECS shows (rollout complete, service steady),
/// records it good, and only then deploys on top of it.
#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_run_killed_after_its_update_is_judged_by_the_next_run_from_ecs() {
    let aws = Aws::new("int_rolling").await;
    let (cluster, image, _) = support::one_service(&aws, "int-rolling").await;
    let before = aws
        .service(&cluster, "api")
        .await
        .task_definition()
        .unwrap_or_default()
        .to_string();
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];
    let first = spawn_action(&aws, &inputs, &[]);
    let t = std::time::Instant::now();
    let left = loop {
        let td = aws
            .service(&cluster, "api")
            .await
            .task_definition()
            .unwrap_or_default()
            .to_string();
        if td != before {
            break td;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the run never updated the service"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.signal("KILL");
    let _ = first.wait_within(Duration::from_secs(30));
    aws.wait_stable(&cluster, "api").await;
    assert_eq!(
        aws.tag_value(&left, "ecs-deploy:result").await.as_deref(),
        Some("pending"),
        "the killed run recorded no end"
    );

    let run = run_action(&aws, &inputs, &[("GITHUB_RUN_ATTEMPT", "2")]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("::warning title=Earlier deployment judged::") && run.stdout.contains("now recorded good"),
        "{}",
        run.stdout
    );
    assert_eq!(
        aws.tag_value_settled(&left, "ecs-deploy:result", Some("success"))
            .await
            .as_deref(),
        Some("success")
    );
    let now = aws
        .service(&cluster, "api")
        .await
        .task_definition()
        .unwrap_or_default()
        .to_string();
    assert_ne!(now, left, "the re-run deployed its own revision on top");
    assert_eq!(
        aws.tag_value_settled(&now, "ecs-deploy:result", Some("success"))
            .await
            .as_deref(),
        Some("success"),
        "and recorded how it ended"
    );
}
