//! Unit tests of `rollout`: assessing one observation, and naming what replaced ours.
use super::*;
use crate::domain::service::*;

fn dep(id: &str, status: &str, td: &str, running: i32, rollout: &str) -> Deployment {
    Deployment {
        id: id.into(),
        status: DeploymentStatus::parse(status),
        task_definition: td.into(),
        desired: 2,
        running,
        pending: 0,
        failed_tasks: 0,
        rollout_state: (!rollout.is_empty()).then(|| RolloutState::parse(rollout)),
        rollout_state_reason: Some("why".into()),
        created_at: None,
    }
}

fn svc(deployments: Vec<Deployment>, running: i32, events: &[&str]) -> ServiceState {
    ServiceState {
        name: "api".into(),
        arn: "arn:svc/api".into(),
        status: ServiceLifecycle::Active,
        task_definition: deployments[0].task_definition.clone(),
        desired: 2,
        running,
        pending: 0,
        deployments,
        events: events
            .iter()
            .enumerate()
            .map(|(i, m)| ServiceEvent {
                id: i.to_string(),
                created_at: None,
                message: m.to_string(),
            })
            .collect(),
        circuit_breaker: Some(CircuitBreaker {
            enable: true,
            rollback: true,
        }),
        target_groups: vec![],
        deployment_controller: Default::default(),
        deployment_strategy: None,
        native: None,
        load_balancer_container: None,
    }
}

fn tracked() -> Tracked {
    Tracked {
        deployment_id: "new".into(),
        task_definition: "td:2".into(),
        previous_task_definition: "td:1".into(),
        previous_desired: None,
    }
}

#[test]
fn table() {
    use Assessment::*;
    let cases: Vec<(&str, ServiceState, Assessment)> = vec![
        (
            "ours completed and alone",
            svc(vec![dep("new", "PRIMARY", "td:2", 2, "COMPLETED")], 2, &[]),
            Stable,
        ),
        (
            "old still draining",
            svc(
                vec![
                    dep("new", "PRIMARY", "td:2", 2, "COMPLETED"),
                    dep("old", "ACTIVE", "td:1", 1, "COMPLETED"),
                ],
                3,
                &[],
            ),
            InProgress {
                running: 2,
                desired: 2,
                failed_tasks: 0,
            },
        ),
        (
            "counts match but rollout in progress",
            svc(vec![dep("new", "PRIMARY", "td:2", 2, "IN_PROGRESS")], 2, &[]),
            InProgress {
                running: 2,
                desired: 2,
                failed_tasks: 0,
            },
        ),
        (
            "no rollout tracking, counts match",
            svc(vec![dep("new", "PRIMARY", "td:2", 2, "")], 2, &[]),
            Stable,
        ),
        (
            "failed without rollback",
            svc(
                vec![
                    dep("new", "PRIMARY", "td:2", 0, "FAILED"),
                    dep("old", "ACTIVE", "td:1", 2, "COMPLETED"),
                ],
                2,
                &[],
            ),
            Failed(Failure::RolloutFailed { reason: "why".into() }),
        ),
        (
            "failed and ECS rolled back",
            svc(
                vec![
                    dep("rb", "PRIMARY", "td:1", 1, "IN_PROGRESS"),
                    dep("new", "ACTIVE", "td:2", 0, "FAILED"),
                ],
                1,
                &["rolling back to deployment rb"],
            ),
            Failed(Failure::EcsRollback {
                reason: "why".into(),
                by: EcsTrigger::Unknown,
            }),
        ),
        (
            "ours gone, the old revision back: the service deployment must tell, never success",
            svc(
                vec![dep("rb", "PRIMARY", "td:1", 2, "COMPLETED")],
                2,
                &["(service api) rolling back to deployment rb."],
            ),
            Replaced,
        ),
        (
            "someone else deployed",
            svc(
                vec![
                    dep("x", "PRIMARY", "td:9", 0, "IN_PROGRESS"),
                    dep("new", "ACTIVE", "td:2", 2, "IN_PROGRESS"),
                ],
                2,
                &[],
            ),
            Failed(Failure::Foreign {
                task_definition: "td:9".into(),
            }),
        ),
    ];
    for (name, service, want) in cases {
        assert_eq!(assess(&service, &tracked()), want, "{name}");
    }
}

#[test]
fn a_replacement_is_ecs_rollback_only_when_the_service_deployment_says_so() {
    let view = |status: &str, triggered: bool| DeploymentView {
        status: ServiceDeploymentStatus::parse(status),
        breaker_triggered: triggered,
        rollback_reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
        ..Default::default()
    };
    let rollback = |by| Failure::EcsRollback {
        reason: "ECS deployment circuit breaker: tasks failed to start.".into(),
        by,
    };
    let foreign = Failure::Foreign {
        task_definition: "td:1".into(),
    };
    for (status, triggered, want) in [
        ("ROLLBACK_SUCCESSFUL", true, rollback(EcsTrigger::CircuitBreaker)),
        ("ROLLBACK_IN_PROGRESS", false, rollback(EcsTrigger::Unknown)),
        ("STOPPED", true, rollback(EcsTrigger::CircuitBreaker)),
        ("SUCCESSFUL", false, foreign.clone()),
        ("STOPPED", false, foreign.clone()),
    ] {
        assert_eq!(
            replacement(Some(&view(status, triggered)), "td:1"),
            want,
            "{status} {triggered}"
        );
    }
    assert_eq!(replacement(None, "td:1"), foreign, "not found: never ours rolled back");
}

#[test]
fn an_alarm_rollback_is_named_as_the_alarms_not_the_circuit_breakers() {
    let view = DeploymentView {
        status: ServiceDeploymentStatus::RollbackInProgress,
        triggered_alarms: vec!["api-5xx".into()],
        rollback_reason: Some("ECS deployment failed: alarm api-5xx is in ALARM state.".into()),
        ..Default::default()
    };
    let f = replacement(Some(&view), "td:1");
    assert!(
        f.summary()
            .starts_with("ECS, on deployment alarm api-5xx in ALARM, rolled the service back"),
        "{}",
        f.summary()
    );
    assert!(!f.summary().contains("circuit breaker"));
    let seen_first = Failure::EcsRollback {
        reason: "r".into(),
        by: EcsTrigger::Unknown,
    };
    assert_eq!(
        attribute(seen_first, Some(&view)),
        Failure::EcsRollback {
            reason: "r".into(),
            by: EcsTrigger::Alarms(vec!["api-5xx".into()])
        }
    );
    let failed = attribute(Failure::RolloutFailed { reason: "r".into() }, Some(&view));
    assert_eq!(
        failed.summary(),
        "rollout failed: deployment alarm api-5xx went into ALARM: r"
    );
    assert_eq!(
        attribute(Failure::Timeout, Some(&view)),
        Failure::Timeout,
        "only what ECS failed is attributed"
    );
}

#[test]
fn a_deleted_service_is_a_failure() {
    let mut s = svc(vec![dep("new", "PRIMARY", "td:2", 2, "COMPLETED")], 2, &[]);
    s.status = ServiceLifecycle::Draining;
    assert_eq!(
        assess(&s, &tracked()),
        Assessment::Failed(Failure::ServiceGone {
            status: "DRAINING".into()
        })
    );
}
