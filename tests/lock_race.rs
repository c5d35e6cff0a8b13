//! Two deploys of one service started at once, with Parameter Store's reads (and ECS's tags)
//! lagging other callers' writes: each reads the lock free before the other's write is visible
//! to it, both write, and exactly one proceeds. Its own test binary (its own simulator): the
//! delays are set for all callers.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{spawn_action, Aws, Sim};

/// Races two runs on a fresh service; `true` if both wrote the lock (a real race). Each run's
/// RegisterTaskDefinition (its first call after the lock) answers 3 s late, so the first to
/// take the lock changes nothing for 3 s: the other, however late it started on a loaded
/// machine, reaches the lock before it could see a deployment in progress. If it still does
/// not (it then stops before the lock: exactly one deploys, but nothing raced), try again.
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
    let sim = Sim::shared();
    let slow =
        serde_json::json!([{"operation": "RegisterTaskDefinition", "kind": "latency", "latency_ms": 3000, "count": 1}]);
    for key in [&a.access_key, &b.access_key] {
        sim.put(&format!("/_sim/faults?access_key={key}"), slow.clone());
    }
    let run_a = spawn_action(&a, &inputs, &[("GITHUB_RUN_ID", "2001")]);
    let run_b = spawn_action(&b, &inputs, &[("GITHUB_RUN_ID", "2002")]);
    let (ra, rb) = (run_a.wait(), run_b.wait());
    for key in [&a.access_key, &b.access_key] {
        let _ = ureq::delete(&sim.url(&format!("/_sim/faults?access_key={key}"))).call();
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
            t.elapsed() < std::time::Duration::from_secs(20),
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
    // Parameter Store's reads lag other callers' writes by 600 simulated seconds (10 s at the
    // simulator's pace): far longer than the two runs' starts lie apart, so both read the lock
    // free. The lock rests on no such bound: the delay only makes the race certain.
    Sim::shared().put(
        "/_sim/config",
        serde_json::json!({"tag_visibility_seconds": 120, "parameter_visibility_seconds": 600}),
    );
    for attempt in 0..3 {
        if race(attempt).await {
            return;
        }
        eprintln!("attempt {attempt}: the second run stopped before the lock; racing again");
    }
    panic!("in 3 attempts the two runs never both wrote the lock: nothing raced");
}
