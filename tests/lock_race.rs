//! Two deploys of one service started at once, with Parameter Store's reads (and ECS's tags)
//! lagging other callers' writes: each reads the lock free before the other's write is visible
//! to it, both write, and exactly one proceeds. Its own test binary (its own simulator): the
//! delays are set for all callers.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{spawn_action, Aws, Sim};

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_at_once_exactly_one_proceeds_and_the_other_names_the_holder() {
    // 120 simulated seconds (2 s at the simulator's pace): longer than the two runs' starts
    // lie apart even on a loaded machine, so both read the lock free. The lock rests on no
    // such bound: the delay only makes the race certain.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"tag_visibility_seconds": 120, "parameter_visibility_seconds": 120}),
    );
    let setup = Aws::new("lock_race").await;
    let (cluster, image, _) = support::one_service(&setup, "lock-race").await;
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
            support::mutations(key).first().map(String::as_str) == Some("PutParameter"),
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
        // It names the holder once the winner's write is visible to it within its three
        // attempts; before that, the race it lost.
        (reason.contains(&format!("is being deployed by run {winner_run} attempt 1"))
            && reason.contains(&format!("https://github.com/acme/shop/actions/runs/{winner_run}")))
            || reason.contains("lost the race for its deploy lock (SSM parameter /ecs-deploy-action/lock/"),
        "the loser names the holder or the race: {reason}"
    );
    assert!(
        loser.stdout.contains("::error title=Deploy failed::"),
        "{}",
        loser.stdout
    );
    // The loser changed nothing but its lock write (which did not count), and fails fast: it
    // does not wait for the winner, who still has its deploy to do.
    let loser_changes: Vec<_> = support::mutations(loser_key)
        .into_iter()
        .filter(|op| op != "PutParameter")
        .collect();
    assert!(loser_changes.is_empty(), "{loser_changes:?}");
    let loser_last = Sim::shared()
        .calls(loser_key)
        .iter()
        .filter_map(|c| c["at"].as_f64())
        .fold(0.0, f64::max);
    let winner_release = Sim::shared()
        .calls(winner_key)
        .iter()
        .filter(|c| c["operation"] == "PutParameter")
        .filter_map(|c| c["at"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        loser_last < winner_release,
        "the loser was done before the winner released its lock"
    );
    assert!(support::mutations(winner_key).contains(&"UpdateService".to_string()));
    // The winner released its lock (seen by another caller once the release is visible).
    let ssm = aws_sdk_ssm::Client::new(&setup.config);
    let name = format!("/ecs-deploy-action/lock/{cluster}/api");
    let t = std::time::Instant::now();
    loop {
        let got = ssm.get_parameters().names(&name).send().await.expect("GetParameters");
        let value = got
            .parameters()
            .first()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string();
        if value.starts_with("free;") {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "the winner released its lock: {value}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
