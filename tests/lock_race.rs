//! Two deploys of one service started at once, with Parameter Store's reads (and ECS's tags)
//! lagging other callers' writes: each reads the lock free before the other's write is visible
//! to it, both write, and exactly one proceeds. Its own test binary (its own simulator): the
//! delays are set for all callers.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{spawn_action, Aws, Sim};

/// Races two runs on a fresh service; `true` if both wrote the lock (a real race). On a
/// loaded machine the second may start so late that it sees the first's deployment in
/// progress and stops before the lock: exactly one deploys then too, but nothing raced.
async fn race(attempt: u32) -> bool {
    let setup = Aws::new(&format!("lock_race{attempt}")).await;
    let (cluster, image, _) = support::one_service(&setup, &format!("lock-race-{attempt}")).await;
    let a = Aws::new(&format!("lock_race{attempt}_a")).await;
    let b = Aws::new(&format!("lock_race{attempt}_b")).await;
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
    ];
    let run_a = spawn_action(&a, &inputs, &[("GITHUB_RUN_ID", "2001")]);
    let run_b = spawn_action(&b, &inputs, &[("GITHUB_RUN_ID", "2002")]);
    let (ra, rb) = (run_a.wait(), run_b.wait());

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
    assert!(support::mutations(winner_key).contains(&"UpdateService".to_string()));
    // The loser changed nothing but its lock writes, none of which counted.
    let loser_changes: Vec<_> = support::mutations(loser_key)
        .into_iter()
        .filter(|op| op != "PutParameter")
        .collect();
    assert!(loser_changes.is_empty(), "{loser_changes:?}");
    assert!(
        loser.stdout.contains("::error title=Deploy failed::"),
        "{}",
        loser.stdout
    );
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
            t.elapsed() < std::time::Duration::from_secs(8),
            "the winner released its lock: {value}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let raced = support::mutations(loser_key).first().map(String::as_str) == Some("PutParameter");
    let reason = loser.output("rolled-back-reason");
    if raced {
        // Both read the lock free and wrote. The loser names the holder once the winner's
        // write is visible to it within its three attempts; before that, the race it lost.
        assert!(
            (reason.contains(&format!("is being deployed by run {winner_run} attempt 1"))
                && reason.contains(&format!("https://github.com/acme/shop/actions/runs/{winner_run}")))
                || reason.contains("lost the race for its deploy lock (SSM parameter /ecs-deploy-action/lock/"),
            "the loser names the holder or the race: {reason}"
        );
    }
    raced
}

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_at_once_exactly_one_proceeds_and_the_other_names_the_holder() {
    // 120 simulated seconds (2 s at the simulator's pace): longer than the two runs' starts
    // usually lie apart, so both read the lock free. The lock rests on no such bound: the
    // delay only makes the race likely.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"tag_visibility_seconds": 120, "parameter_visibility_seconds": 120}),
    );
    for attempt in 0..4 {
        if race(attempt).await {
            return;
        }
    }
    panic!("in 4 attempts the two runs never both wrote the lock: nothing raced");
}
