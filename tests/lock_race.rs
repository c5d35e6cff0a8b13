//! Two deploys of one service started at once, with ECS's tags eventually consistent: each
//! reads the lock free before the other's tag is visible to it, both write, and exactly one
//! proceeds. Its own test binary (its own simulator): the tag delay is set for all callers.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{spawn_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_at_once_exactly_one_proceeds_and_the_other_names_the_holder() {
    // 24 simulated seconds: 0.4 s at the simulator's pace, far above the 2.5 s (42 ms here)
    // the lock is built for, yet within what its one-second floor on SETTLE absorbs.
    Sim::shared().put("/_sim/config", serde_json::json!({"tag_visibility_seconds": 24}));
    let setup = Aws::new("lock_race").await;
    let (cluster, image, arn) = support::one_service(&setup, "lock-race").await;
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
    // They raced: each read the lock free and wrote its own (the delay hid the other's).
    for key in [&a.access_key, &b.access_key] {
        assert!(
            support::mutations(key).first().map(String::as_str) == Some("TagResource"),
            "both runs wrote the lock: {:?}",
            support::mutations(key)
        );
    }

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
    let loser_changes: Vec<_> = support::mutations(loser_key)
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
    assert!(support::mutations(winner_key).contains(&"UpdateService".to_string()));
    // The winner released its lock (seen by another caller once the release propagated).
    let t = std::time::Instant::now();
    while setup.tag_value(&arn, "ecs-deploy:lock").await.is_some() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "the winner released its lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
