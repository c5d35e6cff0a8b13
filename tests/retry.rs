//! The one retry helper (`executor::retry`) on the fakes' clock: it stops at a success, at a
//! final error, or at the last attempt, and pauses only on the run's clock.

use std::time::Duration;

use ecs_deploy_action::executor::retry::{always, retry, Backoff};
use ecs_deploy_action::executor::Ports;

#[tokio::test]
async fn it_stops_at_success_a_final_error_or_the_last_attempt_and_pauses_on_the_clock() {
    use ecs_deploy_action::fakes::{FakeClock, FakeEcs, FakeMetrics, FakeRegistry, FakeRouter, FakeSmoke};
    use ecs_deploy_action::ports::{NoAutoScaling, NoReporter};
    let (ecs, clock) = (FakeEcs::default(), FakeClock::default());
    let router = FakeRouter::new(&[("a", 100)], "b");
    let metrics = FakeMetrics::new(&router, 0.0);
    let ports = Ports {
        ecs: &ecs,
        registry: &FakeRegistry,
        clock: &clock,
        router: &router,
        metrics: &metrics,
        smoke: &FakeSmoke,
        autoscaling: &NoAutoScaling,
        locks: &ecs_deploy_action::fakes::FakeLockStore::default(),
        reporter: &NoReporter,
        stage: "t".into(),
    };
    let start = ecs_deploy_action::ports::Clock::now(&clock);
    let b = Backoff::doubling(4, Duration::from_millis(500));
    let third: Result<u32, u32> = retry(&ports, b, always, |n| async move {
        if n < 3 {
            Err(n)
        } else {
            Ok(n)
        }
    })
    .await;
    assert_eq!(third, Ok(3));
    assert_eq!(clock.since(start), Duration::from_millis(1500));
    let out: Result<(), u32> = retry(&ports, b, always, |n| async move { Err(n) }).await;
    assert_eq!(out, Err(4), "the last attempt's error");
    let final_at_once: Result<(), u32> = retry(&ports, b, |e| *e != 1, |n| async move { Err(n) }).await;
    assert_eq!(final_at_once, Err(1));
}
