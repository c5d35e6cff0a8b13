//! The deploy lock's compare-and-swap on the shared fakes (Parameter Store in memory): two
//! runs that read the lock free both write, and the one whose write did not get the next
//! version holds nothing; readers skip such a write; stale locks are taken over; a released
//! lock is free for the next run. (Against the simulator, with IAM enforced: tests/lock.rs
//! and tests/lock_race.rs.)

use std::time::Duration;

use ecs_deploy_action::config::{validate, DeployConfig, GithubContext, RawInputs};
use ecs_deploy_action::error::Error;
use ecs_deploy_action::executor::{lock, Ports};
use ecs_deploy_action::fakes::{FakeClock, FakeEcs, FakeLockStore, FakeMetrics, FakeRegistry, FakeRouter, FakeSmoke};
use ecs_deploy_action::ports::{Clock, NoAutoScaling, NoReporter};

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/c/web";
const PARAMETER: &str = "/ecs-deploy-action/lock/c/web";

fn config(run_id: &str) -> DeployConfig {
    let raw = RawInputs::from_vars(
        [
            ("INPUT_CLUSTER", "c"),
            ("INPUT_SERVICES", "web"),
            ("INPUT_IMAGE", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2"),
            ("INPUT_AWS-REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    )
    .unwrap();
    let ctx = GithubContext {
        run_id: Some(run_id.into()),
        run_attempt: Some("1".into()),
        repository: Some("acme/shop".into()),
        server_url: Some("https://github.com".into()),
        ..GithubContext::default()
    };
    validate(&raw, ctx, None).unwrap()
}

/// Runs `f` with ports whose lock store is `store`.
async fn with_ports<T>(store: &FakeLockStore, clock: &FakeClock, f: impl AsyncFnOnce(&Ports<'_>) -> T) -> T {
    let ecs = FakeEcs::default();
    let router = FakeRouter::new(&[("a", 100)], "b");
    let metrics = FakeMetrics::new(&router, 0.0);
    let ports = Ports {
        ecs: &ecs,
        registry: &FakeRegistry,
        clock,
        router: &router,
        metrics: &metrics,
        smoke: &FakeSmoke,
        autoscaling: &NoAutoScaling,
        locks: store,
        reporter: &NoReporter,
        stage: "t".into(),
    };
    f(&ports).await
}

fn services() -> Vec<(String, String)> {
    vec![("web".to_string(), ARN.to_string())]
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_run_whose_write_lost_the_race_holds_nothing_and_names_the_winner() {
    let (store, clock) = (FakeLockStore::default(), FakeClock::default());
    // Run 2001 read the lock free too, and its write lands right before ours.
    let winner = lock::Holder::for_run(&config("2001").context, clock.now(), HOUR);
    store.race_next_write(&format!("{};after=0", winner.value()));
    let err = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("2002"), p, &services(), HOUR).await.unwrap_err()
    })
    .await;
    let Error::Locked { holder, parameter, .. } = &err else {
        panic!("{err}");
    };
    assert!(holder.starts_with("run 2001 attempt 1"), "{holder}");
    assert_eq!(parameter, PARAMETER);
    // Our create-only write was refused; nothing of ours is in the store.
    assert_eq!(store.newest(PARAMETER), Some(format!("{};after=0", winner.value())));
}

#[tokio::test]
async fn a_write_that_did_not_get_the_next_version_is_skipped_by_readers() {
    let (store, clock) = (FakeLockStore::default(), FakeClock::default());
    let first = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("3001"), p, &services(), HOUR).await.unwrap()
    })
    .await;
    // Run 3002 read the lock before ours existed and wrote after it: its version 2 on top of
    // our version 1 does not count.
    let stray = lock::Holder::for_run(&config("3002").context, clock.now(), HOUR);
    store.other_writes(PARAMETER, &format!("{};after=0", stray.value()));
    let err = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("3003"), p, &services(), HOUR).await.unwrap_err()
    })
    .await;
    assert!(
        err.to_string().contains("being deployed by run 3001 attempt 1"),
        "the holder is the run whose write counted: {err}"
    );
    assert_eq!(store.writes(), 1, "run 3003 wrote nothing");
    // Our release walks back past the stray write too, and frees the lock (version 3).
    with_ports(&store, &clock, async |p| lock::release(p, &first).await).await;
    assert_eq!(store.newest(PARAMETER).as_deref(), Some("free;after=2"));
    // Another stray write over the free lock blocks nobody.
    store.other_writes(PARAMETER, &format!("{};after=1", stray.value()));
    let next = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("3004"), p, &services(), HOUR).await
    })
    .await
    .expect("the newest version that counts says free");
    assert_eq!(
        store.newest(PARAMETER),
        Some(format!("{};after=4", next.holder.value()))
    );
}

#[tokio::test]
async fn a_released_lock_is_free_and_an_expired_one_is_taken_over() {
    let (store, clock) = (FakeLockStore::default(), FakeClock::default());
    let a = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("4001"), p, &services(), HOUR).await.unwrap()
    })
    .await;
    with_ports(&store, &clock, async |p| lock::release(p, &a).await).await;
    let b = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("4002"), p, &services(), HOUR).await.unwrap()
    })
    .await;
    // Run 4002 is killed holding it; an hour and a second later it is stale.
    clock.sleep(HOUR + Duration::from_secs(1)).await;
    let c = with_ports(&store, &clock, async |p| {
        lock::acquire(&config("4003"), p, &services(), HOUR).await
    })
    .await
    .expect("an expired lock is taken over");
    assert_ne!(b.holder, c.holder);
    assert!(store.newest(PARAMETER).unwrap().starts_with(&c.holder.value()));
    // The killed run's release (had it come back) leaves the new holder's lock alone.
    with_ports(&store, &clock, async |p| lock::release(p, &b).await).await;
    assert!(store.newest(PARAMETER).unwrap().starts_with(&c.holder.value()));
}
