//! A rollback asked for while ECS is in CLEAN_UP (issue 29, item 9). By then production is all
//! on the new revision and ECS is stopping the previous revision's tasks, whose targets drain.
//! AWS does not say what StopServiceDeployment does there; the less forgiving reading (the
//! simulator's) is that production goes back at once to a target group whose tasks are
//! draining, and gets the ALB's 503s until ECS has started them again. So the action does not
//! stop it: ECS finishes, and the report says the new revision runs and how to go back.

use std::time::Duration;

use super::super::cancel::within;
use super::super::Ports;
use crate::domain::outcome::{OutcomeKind, RollbackResult, ServiceStatus};
use crate::domain::rollout::Failure;
use crate::domain::service_deployment::LifecycleStage;

/// How long the stop path waits to learn the stage: well inside the runner's grace period.
const READ_BUDGET: Duration = Duration::from_secs(2);

/// Whether the deployment is in CLEAN_UP now (read once, at most `READ_BUDGET`; unknown is no).
pub(super) async fn in_clean_up(ports: &Ports<'_>, service_deployment_arn: &str) -> bool {
    let deadline = ports.clock.now() + READ_BUDGET;
    matches!(
        within(ports, deadline, ports.ecs.service_deployment(service_deployment_arn)).await,
        Some(Ok(view)) if view.stage == LifecycleStage::CleanUp
    )
}

/// What the run ends as when ECS is left to finish: cancelled or failed, never rolled back.
pub(super) fn left_to_finish(failure: Failure, cancelled: bool) -> (OutcomeKind, ServiceStatus) {
    let rollback = RollbackResult::NotAttempted(
        "ECS was already stopping the previous revision's tasks (CLEAN_UP), so a rollback now would send production to their draining target group; ECS is left to finish with all production on the new revision; roll back with `command: rollback`"
            .into(),
    );
    if cancelled {
        (OutcomeKind::Cancelled, ServiceStatus::Cancelled(rollback))
    } else {
        (OutcomeKind::Failure, ServiceStatus::Failed { failure, rollback })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_left_to_ecs_is_never_reported_as_rolled_back() {
        let (kind, status) = left_to_finish(Failure::Timeout, true);
        assert_eq!(kind, OutcomeKind::Cancelled);
        assert!(
            matches!(status, ServiceStatus::Cancelled(RollbackResult::NotAttempted(ref why)) if why.contains("command: rollback"))
        );
        let (kind, status) = left_to_finish(Failure::Timeout, false);
        assert_eq!(kind, OutcomeKind::Failure);
        assert!(matches!(
            status,
            ServiceStatus::Failed {
                rollback: RollbackResult::NotAttempted(_),
                ..
            }
        ));
    }
}
