//! Scenario tests of the executor against the shared in-memory fakes (src/fakes/), on a fake
//! clock: the deploy logic as stories, with no simulator and no real time. Each story ends by
//! checking the safe state. (The same stories run against the simulator in tests/progressive.rs
//! and tests/rolling.rs.)

use std::sync::atomic::Ordering;
use std::time::Duration;

use ecs_deploy_action::config::{validate, DeployConfig, GithubContext, RawInputs};
use ecs_deploy_action::domain::outcome::{OutcomeKind, RollbackResult, ServiceStatus};
use ecs_deploy_action::domain::plan::cursor::CURSOR_TAG;
use ecs_deploy_action::domain::plan::Step;
use ecs_deploy_action::domain::rollout::EcsTrigger;
use ecs_deploy_action::executor::{progressive, rolling, Ports};
use ecs_deploy_action::fakes::{FakeClock, FakeEcs, FakeMetrics, FakeRegistry, FakeRouter, FakeSmoke, DIGEST};
use ecs_deploy_action::ports::{Clock, NoAutoScaling, NoReporter};

const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1111/2222";

/// The ports of one story: the fakes, an always-200 smoke check, no reporting.
fn ports<'a>(
    ecs: &'a FakeEcs,
    router: &'a FakeRouter,
    metrics: &'a FakeMetrics<'a>,
    clock: &'a FakeClock,
) -> Ports<'a> {
    Ports {
        ecs,
        registry: &FakeRegistry,
        clock,
        router,
        metrics,
        smoke: &FakeSmoke,
        autoscaling: &NoAutoScaling,
        locks: &ecs.locks,
        reporter: &NoReporter,
        stage: "prod".into(),
    }
}

fn config(pairs: &[(&str, &str)]) -> DeployConfig {
    let mut all = vec![
        ("cluster", "c"),
        ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2"),
        ("aws-region", "us-east-1"),
    ];
    all.extend_from_slice(pairs);
    let raw = RawInputs::from_vars(
        all.iter()
            .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.to_string())),
    )
    .unwrap();
    validate(&raw, GithubContext::default(), None).unwrap()
}

/// web-blue live with 4 tasks at 100%, web-green idle at 0%.
fn slots() -> (FakeEcs, FakeRouter) {
    let ecs = FakeEcs::default();
    ecs.add("web-blue", "td:blue", "web:v1", 4, Some("tg-blue"));
    ecs.add("web-green", "td:green", "web:v1", 0, Some("tg-green"));
    let router = FakeRouter::new(&[("tg-blue", 100), ("tg-green", 0)], "tg-green");
    (ecs, router)
}

/// The threshold judge: the fake metrics give the new slot a fixed 5xx rate and the stable slot
/// none, which `judge: compare` would rightly call worse; these scenarios are about the
/// executor's flows, and tests/compare.rs and the domain's tests are about the comparison.
fn canary_config(extra: &[(&str, &str)]) -> DeployConfig {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("judge", "threshold"),
        ("services", "web-blue, web-green"),
        ("strategy", "canary"),
        ("listener-arn", LISTENER),
        ("bake-time", "5m"),
        ("analysis-interval", "1m"),
        ("keep-old-for", "10m"),
        ("alarms", "web-5xx"),
    ];
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    config(&pairs)
}

async fn deploy(cfg: &DeployConfig, ports: &Ports<'_>) -> ecs_deploy_action::executor::DeployReport {
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    progressive::deploy(cfg, cfg.progressive.as_ref().unwrap(), ports, &mut cancel)
        .await
        .unwrap()
}

/// The kinds of the steps a run executed, as `command: plan` names them.
fn executed(report: &ecs_deploy_action::executor::DeployReport) -> Vec<String> {
    let plan = report.plan.as_ref().unwrap();
    report.executed.iter().map(|i| plan.steps[*i].to_string()).collect()
}

/// An earlier run died with traffic at 50/50; `stable` carries the stable-slot tag.
fn split_50_50(ecs: &FakeEcs, router: &FakeRouter, stable: &str) {
    *router.weights.lock().unwrap() = vec![("tg-blue".into(), 50), ("tg-green".into(), 50)];
    ecs.tags.lock().unwrap().insert(
        FakeEcs::arn(stable),
        vec![(progressive::SLOT_TAG.into(), "stable".into())],
    );
}

/// A deploy that must be refused: its error, as the run prints it.
async fn refused(cfg: &DeployConfig, ports: &Ports<'_>) -> String {
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    progressive::deploy(cfg, cfg.progressive.as_ref().unwrap(), ports, &mut cancel)
        .await
        .unwrap_err()
        .to_string()
}

/// Nothing changed: no weight, no scale, no revision, no update, no tag.
fn assert_untouched(ecs: &FakeEcs, router: &FakeRouter) {
    assert!(router.canary_history().is_empty(), "no traffic moved");
    assert!(ecs.scaled.lock().unwrap().is_empty(), "no slot was scaled");
    let mutations: Vec<String> = ecs
        .calls()
        .into_iter()
        .filter(|c| {
            ["UpdateService", "RegisterTaskDefinition", "TagResource"]
                .iter()
                .any(|m| c.starts_with(m))
        })
        .collect();
    assert!(mutations.is_empty(), "{mutations:#?}");
}

#[tokio::test]
async fn a_healthy_canary_walks_every_step_then_retires_the_old_slot() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.001);
    let clock = FakeClock::default();
    let start = clock.now();
    let cfg = canary_config(&[]);
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(
        report.outcome.kind,
        OutcomeKind::Success,
        "{:?} {:?}",
        report.outcome.reason,
        report.timeline
    );
    assert_eq!(router.canary_history(), vec![5, 10, 25, 50, 100]);
    assert_eq!(report.timeline.len(), 5);
    assert!(
        report.timeline.iter().all(|s| s.verdict.starts_with("pass (minutes ")),
        "{:?}",
        report.timeline
    );
    assert_eq!(
        ecs.service("web-green").desired,
        4,
        "the new slot got the live slot's count"
    );
    assert_eq!(
        ecs.scaled.lock().unwrap().last(),
        Some(&("web-blue".to_string(), 0)),
        "the old slot is retired last"
    );
    let green_td = ecs.td_of("web-green");
    let td = ecs.task_definitions.lock().unwrap()[&green_td].clone();
    assert_eq!(
        td.containers[0].1,
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}"),
        "deployed by digest"
    );
    // Every planned step ran, in order: the plan is what runs.
    let plan = report.plan.as_ref().unwrap();
    assert_eq!(report.executed, (0..plan.steps.len()).collect::<Vec<_>>());
    assert_eq!(
        ecs.tag_of("web-green", CURSOR_TAG),
        None,
        "the cursor is gone after success"
    );
    assert_eq!(
        ecs.tag_of("web-green", progressive::SLOT_TAG).as_deref(),
        Some("stable")
    );
    // Five bakes of five minutes and the warm old slot passed on the clock, not in real time.
    assert!(
        clock.since(start) >= Duration::from_secs(35 * 60),
        "{:?}",
        clock.since(start)
    );
}

#[tokio::test]
async fn an_alarm_at_25_percent_puts_the_weights_back_first_then_scales_the_canary_down() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        alarm_at: Some(25),
        ..FakeMetrics::new(&router, 0.0)
    };
    let clock = FakeClock::default();
    let report = deploy(&canary_config(&[]), &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Failure);
    assert_eq!(
        router.canary_history(),
        vec![5, 10, 25, 0],
        "the last change is the rollback to 100/0"
    );
    let reason = report.outcome.reason.clone().unwrap();
    assert!(
        reason.contains("analysis failed at 25% traffic") && reason.contains("alarm web-5xx is in ALARM"),
        "{reason}"
    );
    assert_eq!(
        ecs.scaled.lock().unwrap().last(),
        Some(&("web-green".to_string(), 0)),
        "the canary slot is scaled down after the weights"
    );
    assert_eq!(ecs.service("web-blue").desired, 4, "the stable slot is untouched");
    assert_eq!(
        ecs.tag_of("web-green", CURSOR_TAG),
        None,
        "the cursor is gone after a rollback"
    );
}

#[tokio::test]
async fn an_alarm_during_a_metrics_brown_out_fails_the_step_and_names_the_alarm() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        alarm_at: Some(5),
        metrics_fail: true,
        ..FakeMetrics::new(&router, 0.0)
    };
    let clock = FakeClock::default();
    // Even with `on-inconclusive: continue`, which would pass an inconclusive step.
    let cfg = canary_config(&[("on-inconclusive", "continue")]);
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Failure);
    assert_eq!(router.canary_history(), vec![5, 0]);
    let reason = report.outcome.reason.unwrap();
    assert!(reason.contains("alarm web-5xx is in ALARM"), "{reason}");
}

#[tokio::test]
async fn an_error_rate_over_the_threshold_fails_the_first_step() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.081);
    let clock = FakeClock::default();
    let report = deploy(&canary_config(&[]), &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(router.canary_history(), vec![5, 0]);
    assert!(report.outcome.reason.unwrap().contains("5xx rate 8.1% > 1.0%"));
}

#[tokio::test]
async fn a_custom_metric_gate_fails_the_first_step_over_its_threshold_and_passes_under_it() {
    use ecs_deploy_action::domain::metric_gate::{Direction, GateSource, MetricGate, MetricQuery};
    let gate = MetricGate {
        name: "queue-errors".into(),
        source: GateSource::Metric(MetricQuery {
            id: "m1".into(),
            namespace: "TaskQueue/Production".into(),
            metric: "ErrorRate".into(),
            dimensions: vec![("Service".into(), "${service}".into())],
            statistic: "Average".into(),
        }),
        threshold: 2.0,
        direction: Direction::Above,
        min_points: 2,
    };
    let mut cfg = canary_config(&[]);
    cfg.progressive.as_mut().unwrap().gates = vec![gate];
    for (value, fails) in [(5.0, true), (1.0, false)] {
        let (ecs, router) = slots();
        let metrics = FakeMetrics {
            gate_value: Some(value),
            ..FakeMetrics::new(&router, 0.0)
        };
        let clock = FakeClock::default();
        let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
        if fails {
            assert_eq!(router.canary_history(), vec![5, 0]);
            let reason = report.outcome.reason.unwrap();
            assert!(reason.contains("custom metric queue-errors 5 > 2"), "{reason}");
        } else {
            assert_eq!(report.outcome.kind, OutcomeKind::Success, "{:?}", report.outcome.reason);
        }
    }
}

#[tokio::test]
async fn a_split_with_unreadable_tags_stops_before_any_change() {
    let (ecs, router) = slots();
    split_50_50(&ecs, &router, "web-blue");
    // ListTagsForResource is throttled for longer than the retries last.
    ecs.fail_tag_reads(0, 100);
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let err = refused(&canary_config(&[]), &ports(&ecs, &router, &metrics, &clock)).await;
    assert!(
        err.contains("which slot is stable is unknown") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_untouched(&ecs, &router);
}

#[tokio::test]
async fn a_split_whose_tag_read_is_throttled_once_restores_the_true_stable_slot() {
    let (ecs, router) = slots();
    // Green is the stable slot this time (listed second): a guess by order would pick blue.
    split_50_50(&ecs, &router, "web-green");
    // The first slot-tag read is throttled twice, then answers.
    ecs.fail_tag_reads(0, 2);
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[("canary-steps", "100"), ("bake-time", "0s"), ("keep-old-for", "0s")]);
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    let first = router.history.lock().unwrap()[0].clone();
    assert!(
        first.contains(&("tg-green".to_string(), 100)) && first.contains(&("tg-blue".to_string(), 0)),
        "the split goes back to the true stable slot first: {first:?}"
    );
    assert_eq!(report.outcome.kind, OutcomeKind::Success);
    assert_eq!(
        report.outcome.services[0].service, "web-blue",
        "then blue is the new slot"
    );
}

#[tokio::test]
async fn a_crash_during_the_10_percent_bake_resumes_with_that_bake_then_stops_at_the_pause() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[("canary-steps", "10,pause,50,100"), ("on-split", "continue")]);
    // The first run is killed right after it set 10%, before its bake could finish: its
    // future is dropped, as a killed runner's process is.
    {
        let p = ports(&ecs, &router, &metrics, &clock);
        let (_tx, mut cancel) = tokio::sync::watch::channel(false);
        let mut first = Box::pin(progressive::deploy(
            &cfg,
            cfg.progressive.as_ref().unwrap(),
            &p,
            &mut cancel,
        ));
        while router.canary_history() != vec![10] {
            assert!(
                futures::poll!(&mut first).is_pending(),
                "the first run should still be running"
            );
        }
    }
    assert_eq!(router.weight_of("tg-green"), 10, "the dead run left 10% on green");
    // Its lock is stale only after its TTL; the re-run comes after that.
    clock.sleep(Duration::from_secs(24 * 3600)).await;
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Paused, "{:?}", report.outcome);
    assert_eq!(
        executed(&report),
        vec![
            "set 10% of traffic on the new slot".to_string(),
            "bake 5m at 10% under analysis (every 1m)".to_string(),
            "pause at 10% until a gated run continues".to_string(),
        ],
        "10% baked again in full, then the pause; nothing skipped"
    );
    assert_eq!(report.timeline.len(), 1);
    assert!(
        report.timeline[0].verdict.starts_with("pass (minutes "),
        "{:?}",
        report.timeline
    );
    assert_eq!(router.weight_of("tg-green"), 10, "traffic held at the pause");
    // The approval: a third run continues past the pause to the end.
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Success);
    assert_eq!(executed(&report)[0], "set 50% of traffic on the new slot");
    assert_eq!(router.weight_of("tg-green"), 100);
}

#[tokio::test]
async fn a_cursor_that_disagrees_with_the_weights_rolls_back() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[("canary-steps", "10,pause,50,100"), ("on-split", "continue")]);
    // Paused at 10% by an earlier run; then someone moved the listener to 30% by hand.
    let paused = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(paused.outcome.kind, OutcomeKind::Paused);
    *router.weights.lock().unwrap() = vec![("tg-blue".into(), 70), ("tg-green".into(), 30)];
    clock.sleep(Duration::from_secs(24 * 3600)).await;
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    let history = router.canary_history();
    let after_pause = &history[1..];
    assert_eq!(after_pause[0], 0, "first the split is rolled back: {history:?}");
    assert_eq!(
        report.outcome.kind,
        OutcomeKind::Paused,
        "then a fresh rollout to the pause"
    );
}

#[tokio::test]
async fn a_signal_while_cloudwatch_hangs_puts_the_weights_back_within_the_budget() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[]);
    let p = ports(&ecs, &router, &metrics, &clock);
    let (tx, mut cancel) = tokio::sync::watch::channel(false);
    let run = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &p, &mut cancel);
    metrics.hang.store(true, Ordering::SeqCst);
    let signalled_at = std::sync::Mutex::new(None);
    let signal = async {
        // The bake's GetMetricData is in flight and will never answer.
        while metrics.hanging.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        *signalled_at.lock().unwrap() = Some(clock.now());
        tx.send(true).unwrap();
    };
    let (report, ()) = tokio::join!(run, signal);
    let report = report.unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Cancelled);
    assert_eq!(router.canary_history(), vec![5, 0], "weights back on the stable slot");
    let at = signalled_at.lock().unwrap().unwrap();
    assert!(
        clock.since(at) <= Duration::from_secs(7),
        "revert within the runner's budget: {:?}",
        clock.since(at)
    );
}

#[tokio::test]
async fn a_signal_during_a_bake_restores_the_weights() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[]);
    let p = ports(&ecs, &router, &metrics, &clock);
    let (tx, mut cancel) = tokio::sync::watch::channel(false);
    let run = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &p, &mut cancel);
    let signal = async {
        while router.canary_history().is_empty() {
            tokio::task::yield_now().await;
        }
        tx.send(true).unwrap();
    };
    let (report, ()) = tokio::join!(run, signal);
    assert_eq!(report.unwrap().outcome.kind, OutcomeKind::Cancelled);
    assert_eq!(router.canary_history().last(), Some(&0));
}

/// The state a two-slot run acts on (the listener's weights, both slots and their tags) is
/// read again after the lock is taken and before the first change: the lock's own reads do
/// not count (the fakes' calls are put in one order, and the lock never reads the listener
/// or describes the services).
#[tokio::test]
async fn the_listener_and_tags_are_read_only_under_the_lock() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let cfg = canary_config(&[("canary-steps", "100"), ("bake-time", "0s"), ("keep-old-for", "0s")]);
    deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    let mut calls = ecs.ordered_calls();
    calls.extend(router.ordered_calls());
    calls.extend(ecs.locks.ordered_calls());
    calls.sort();
    let calls: Vec<String> = calls.into_iter().map(|(_, c)| c).collect();
    let lock_written = calls
        .iter()
        .position(|c| c.starts_with("PutParameter /ecs-deploy-action/lock/"))
        .expect("the lock was taken");
    let first_change = calls
        .iter()
        .position(|c| {
            ["RegisterTaskDefinition", "UpdateService", "ModifyListener"]
                .iter()
                .any(|op| c.starts_with(op))
        })
        .expect("the deploy changed something");
    assert!(lock_written < first_change, "{calls:#?}");
    let under_lock = &calls[lock_written..first_change];
    assert!(
        under_lock.iter().any(|c| c == "DescribeListeners"),
        "the listener is read again under the lock: {calls:#?}"
    );
    let reread = under_lock
        .iter()
        .position(|c| c.starts_with("DescribeServices"))
        .expect("the slots are described again under the lock");
    for slot in ["web-blue", "web-green"] {
        assert!(
            under_lock[reread..]
                .iter()
                .any(|c| c.starts_with("ListTagsForResource") && c.ends_with(slot)),
            "{slot}'s tags are read again under the lock: {calls:#?}"
        );
    }
}

/// A rolling deploy of an image whose tasks crash, on a fake ECS whose breaker rollback takes
/// `rollback_polls` looks to complete.
async fn crashing_release(rollback_polls: u32) -> (FakeEcs, ecs_deploy_action::executor::DeployReport) {
    let ecs = FakeEcs {
        crashing_images: vec![format!("web@{DIGEST}")],
        rollback_polls,
        ..Default::default()
    };
    ecs.add(
        "api",
        "td:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        2,
        None,
    );
    let report = {
        let router = FakeRouter::new(&[], "none");
        let metrics = FakeMetrics::new(&router, 0.0);
        let clock = FakeClock::default();
        let p = ports(&ecs, &router, &metrics, &clock);
        let cfg = config(&[("services", "api")]);
        let (_tx, mut cancel) = tokio::sync::watch::channel(false);
        rolling::deploy(&cfg, &p, &mut cancel).await.unwrap()
    };
    (ecs, report)
}

/// The rollback finished before the first look: ours is gone from DescribeServices and the old
/// revision is back. The service deployment's own status (not event prose) says it was ECS.
#[tokio::test]
async fn a_rollback_finished_before_the_first_look_is_read_from_the_service_deployment() {
    let (ecs, report) = crashing_release(0).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Failure);
    match &report.outcome.services[0].status {
        ServiceStatus::Failed { rollback, .. } => {
            assert_eq!(rollback, &RollbackResult::ByEcs(EcsTrigger::CircuitBreaker))
        }
        other => panic!("{other:?}"),
    }
    let calls = ecs.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("DescribeServiceDeployments sd/api/")),
        "{calls:#?}"
    );
    assert_eq!(ecs.td_of("api"), "td:1");
}

#[tokio::test]
async fn a_circuit_breaker_rollback_is_a_failure_and_the_action_waits_until_it_is_stable() {
    let (ecs, report) = crashing_release(3).await;
    assert_eq!(
        report.outcome.kind,
        OutcomeKind::Failure,
        "counts match after the rollback, but it is not our deployment"
    );
    assert!(report.outcome.reason.clone().unwrap().contains("circuit breaker"));
    assert_eq!(ecs.td_of("api"), "td:1");
    let api = ecs.service("api");
    assert_eq!(api.deployments.len(), 1, "ECS's rollback is the only deployment left");
    assert_eq!(
        api.deployments[0].rollout_state.as_ref().map(|r| r.as_aws()),
        Some("COMPLETED"),
        "and it is stable"
    );
    match &report.outcome.services[0].status {
        ServiceStatus::Failed { rollback, .. } => {
            assert_eq!(rollback, &RollbackResult::ByEcs(EcsTrigger::CircuitBreaker))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        ecs.calls().iter().filter(|c| c.starts_with("DescribeServices")).count() >= 5,
        "it kept looking until the rollback completed: {:#?}",
        ecs.calls()
    );
}

#[tokio::test]
async fn the_rolling_plan_is_what_runs() {
    let ecs = FakeEcs::default();
    ecs.add(
        "api",
        "td:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        2,
        None,
    );
    ecs.add(
        "worker",
        "td:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        1,
        None,
    );
    let router = FakeRouter::new(&[], "none");
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let p = ports(&ecs, &router, &metrics, &clock);
    let cfg = config(&[("services", "api, worker")]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = rolling::deploy(&cfg, &p, &mut cancel).await.unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Success);
    let plan = report.plan.clone().unwrap();
    assert_eq!(report.executed, vec![0, 1, 2]);
    assert!(matches!(plan.steps[2], Step::AwaitStable { .. }));
    assert_eq!(
        ecs.calls()
            .iter()
            .filter(|c| c.starts_with("RegisterTaskDefinition"))
            .count(),
        1,
        "services on one task definition share one new revision"
    );
}

#[tokio::test]
async fn an_alarm_that_does_not_exist_is_refused_before_any_change() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        missing_alarms: vec!["web-5xx-typo".into()],
        ..FakeMetrics::new(&router, 0.0)
    };
    let clock = FakeClock::default();
    let cfg = canary_config(&[("alarms", "web-5xx, web-5xx-typo")]);
    let err = refused(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert!(err.contains("alarm web-5xx-typo"), "{err}");
    assert_untouched(&ecs, &router);
}

#[tokio::test]
async fn a_late_write_that_undoes_the_final_weights_is_set_again_before_success() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    // The first weight change (to 50) times out at ELB but is applied anyway, after the
    // change to 100 read back right: without a check, the run would report success at 50/50.
    *router.abandon_next_at.lock().unwrap() = Some(clock.now());
    let cfg = canary_config(&[
        ("canary-steps", "50,100"),
        ("bake-time", "2s"),
        ("analysis-interval", "1s"),
    ]);
    let report = deploy(&cfg, &ports(&ecs, &router, &metrics, &clock)).await;
    assert_eq!(report.outcome.kind, OutcomeKind::Success, "{:?}", report.outcome);
    assert_eq!(router.weight_of("tg-green"), 100, "the weights are final at 100");
    let history = router.canary_history();
    assert_eq!(
        history.iter().filter(|w| **w == 100).count(),
        2,
        "100 was set again after the late write: {history:?}"
    );
}

#[tokio::test]
async fn a_migration_runs_between_registration_and_the_update_and_its_failure_moves_nothing() {
    // Rolling: the task runs from the new revision, in container app, before UpdateService.
    let ecs = FakeEcs::default();
    ecs.add("api", "td:1", "web:v1", 2, None);
    let router = FakeRouter::new(&[], "");
    let metrics = FakeMetrics::new(&router, 0.0);
    let clock = FakeClock::default();
    let p = ports(&ecs, &router, &metrics, &clock);
    let cfg = config(&[("services", "api"), ("run-task-command", "./migrate up")]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = rolling::deploy(&cfg, &p, &mut cancel).await.unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Success);
    let kinds: Vec<&str> = report.plan.as_ref().unwrap().steps.iter().map(Step::kind).collect();
    assert_eq!(
        kinds,
        ["register-revision", "run-task", "update-service", "await-stable"]
    );
    let run = ecs.tasks_run.lock().unwrap().clone();
    assert_eq!(run.len(), 1);
    assert_eq!(
        (run[0].container.as_str(), run[0].command.clone()),
        ("app", vec!["./migrate".to_string(), "up".into()])
    );
    assert_eq!(run[0].task_definition, ecs.td_of("api"), "the new revision");
    let order: Vec<String> = ecs
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("RunTask") || c.starts_with("UpdateService"))
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(order, ["RunTask", "UpdateService"]);

    // Canary: a migration that exits 5 stops the run before the new slot or traffic moves.
    let (ecs, router) = slots();
    let ecs = FakeEcs {
        one_off_exit_code: Some(5),
        ..ecs
    };
    let metrics = FakeMetrics::new(&router, 0.0);
    let p = ports(&ecs, &router, &metrics, &clock);
    let cfg = canary_config(&[("run-task-command", "./migrate up")]);
    let error = refused(&cfg, &p).await;
    assert!(
        error.contains("container `app` exited with code 5") && error.contains("no service was changed"),
        "{error}"
    );
    assert!(router.canary_history().is_empty(), "no traffic moved");
    assert!(
        !ecs.calls()
            .iter()
            .any(|c| c.starts_with("UpdateService web-green") && !c.contains("desired=")),
        "the new slot was never pointed at the new revision (only kept at 0): {:?}",
        ecs.calls()
    );
}
