//! A rolling service left on a revision whose judgement never ended (pure).
//!
//! Every revision this action registers carries `ecs-deploy:result=pending` until its run
//! records how the deployment ended (`success`, `failure`, `cancelled`). A service whose
//! current revision still says `pending` was left by a run that was killed (or lost its
//! runner) after pointing the service at it. For a rolling deploy the judgement is ECS's
//! rollout: the run waits for the deployment to complete with all tasks running and no
//! circuit-breaker failure. So the next run finishes that judgement from what ECS shows now,
//! before it takes the revision as its baseline: a rollout ECS completed, on a steady
//! service, is recorded good; anything else is refused, so an unjudged release never becomes
//! the revision a later failure goes back to.

use super::rollout::{assess, Assessment, Tracked};
use super::service::ServiceState;

/// The value of `ecs-deploy:result` from registration until the deployment's end.
pub const PENDING: &str = "pending";

/// What the next run makes of a service's current revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left {
    /// Its end is recorded (or it is not this action's): nothing to finish.
    Ended,
    /// ECS completed the rollout and the service is steady: record it good, then go on.
    CompletedByEcs,
    /// The rollout did not visibly complete: refuse, saying what ECS shows.
    Unsettled(String),
}

/// Judges what a killed run left, from the revision's `ecs-deploy:result` and the service.
pub fn left_by_earlier_run(result: Option<&str>, service: &ServiceState) -> Left {
    if result != Some(PENDING) {
        return Left::Ended;
    }
    let Some(primary) = service.primary() else {
        return Left::Unsettled("ECS shows no primary deployment".into());
    };
    if primary.task_definition != service.task_definition {
        return Left::Unsettled(format!(
            "ECS's primary deployment runs {}, not the service's revision",
            primary.task_definition
        ));
    }
    let tracked = Tracked {
        deployment_id: primary.id.clone(),
        task_definition: primary.task_definition.clone(),
        previous_task_definition: String::new(),
        previous_desired: None,
    };
    match assess(service, &tracked) {
        Assessment::Stable => Left::CompletedByEcs,
        Assessment::InProgress { running, desired, .. } => Left::Unsettled(format!(
            "its rollout is still in progress ({running} of {desired} tasks running)"
        )),
        Assessment::Failed(_) => Left::Unsettled("ECS shows its rollout failed".into()),
        Assessment::Replaced => Left::Unsettled("another deployment replaced it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::service::*;

    fn service(rollout: &str, running: i32, deployments: usize) -> ServiceState {
        let dep = |id: &str, status: &str, td: &str| Deployment {
            id: id.into(),
            status: DeploymentStatus::parse(status),
            task_definition: td.into(),
            desired: 2,
            running,
            pending: 0,
            failed_tasks: 0,
            rollout_state: (!rollout.is_empty()).then(|| RolloutState::parse(rollout)),
            rollout_state_reason: None,
            created_at: None,
        };
        let mut all = vec![dep("ecs-svc/2", "PRIMARY", "td:2")];
        if deployments > 1 {
            all.push(dep("ecs-svc/1", "ACTIVE", "td:1"));
        }
        ServiceState {
            name: "api".into(),
            status: ServiceLifecycle::Active,
            task_definition: "td:2".into(),
            desired: 2,
            running,
            deployments: all,
            ..ServiceState::default()
        }
    }

    #[test]
    fn a_recorded_end_or_no_record_is_left_alone() {
        let s = service("IN_PROGRESS", 1, 2);
        for result in [None, Some("success"), Some("failure"), Some("cancelled")] {
            assert_eq!(left_by_earlier_run(result, &s), Left::Ended);
        }
    }

    #[test]
    fn a_rollout_ecs_completed_on_a_steady_service_is_recorded_good() {
        assert_eq!(
            left_by_earlier_run(Some(PENDING), &service("COMPLETED", 2, 1)),
            Left::CompletedByEcs
        );
    }

    #[test]
    fn anything_short_of_that_is_unsettled() {
        for s in [
            service("IN_PROGRESS", 1, 2),
            service("COMPLETED", 1, 1),
            service("FAILED", 0, 1),
        ] {
            assert!(
                matches!(left_by_earlier_run(Some(PENDING), &s), Left::Unsettled(_)),
                "{s:?}"
            );
        }
    }
}
