//! How a run ended, for the outputs, the exit code and every report.

use super::diagnostics::Diagnostics;
use super::rollout::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutcomeKind {
    Success,
    /// The deployment failed; `rolled_back` says whether every service is back where it was.
    /// The default: nothing is a success until shown to be.
    #[default]
    Failure,
    Cancelled,
    /// A canary stopped at a `pause` step with traffic held; a later run resumes it.
    Paused,
    /// The chain stopped before a stage whose GitHub environment needs approval.
    AwaitingApproval,
    /// `command: plan`: nothing was changed.
    Planned,
}

impl OutcomeKind {
    /// The value of the `outcome` output.
    pub fn as_output(&self) -> &'static str {
        match self {
            OutcomeKind::Success => "success",
            OutcomeKind::Failure => "failure",
            OutcomeKind::Cancelled => "cancelled",
            OutcomeKind::Paused => "paused",
            OutcomeKind::AwaitingApproval => "awaiting-approval",
            OutcomeKind::Planned => "planned",
        }
    }
}

/// What happened to one service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceResult {
    pub service: String,
    pub previous_task_definition: String,
    pub new_task_definition: Option<String>,
    pub status: ServiceStatus,
    pub diagnostics: Diagnostics,
    pub duration_ms: u128,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceStatus {
    Deployed,
    Failed {
        failure: Failure,
        rollback: RollbackResult,
    },
    /// Rolled back because another service of the same run failed (all or nothing).
    RolledBackWithOthers(RollbackResult),
    Cancelled(RollbackResult),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RollbackResult {
    /// ECS already put the previous task definition back: its circuit breaker or a
    /// deployment alarm, as the trigger says.
    ByEcs(crate::domain::rollout::EcsTrigger),
    /// ECS rolled its own (BLUE_GREEN, LINEAR, CANARY) service deployment back: production
    /// traffic and the tasks are on the previous revision.
    ByEcsDeployment,
    /// CodeDeploy's rollback deployment succeeded: traffic on the original task set.
    ByCodeDeploy,
    /// We put the previous task definition back and the service became stable on it.
    Done,
    /// Production traffic never left the stable slot (the first traffic change was refused
    /// or never made), and the new slot is scaled back.
    NeverMoved,
    /// We asked for the previous task definition; not yet confirmed stable (e.g. on cancel).
    Requested,
    NotAttempted(String),
    Failed(String),
}

impl RollbackResult {
    /// Whether the service is back where it was before the run (by ECS or by us).
    pub fn restored(&self) -> bool {
        matches!(
            self,
            RollbackResult::ByEcs(_)
                | RollbackResult::ByEcsDeployment
                | RollbackResult::ByCodeDeploy
                | RollbackResult::Done
                | RollbackResult::NeverMoved
        )
    }

    pub fn describe(&self) -> String {
        match self {
            RollbackResult::ByEcs(crate::domain::rollout::EcsTrigger::CircuitBreaker) => {
                "rolled back by the ECS circuit breaker".into()
            }
            RollbackResult::ByEcs(crate::domain::rollout::EcsTrigger::Alarms(names)) => {
                format!("rolled back by ECS on deployment alarm {} in ALARM", names.join(", "))
            }
            RollbackResult::ByEcs(crate::domain::rollout::EcsTrigger::Unknown) => "rolled back by ECS".into(),
            RollbackResult::ByEcsDeployment => {
                "rolled back by ECS: production traffic and tasks on the previous revision".into()
            }
            RollbackResult::ByCodeDeploy => {
                "rolled back by CodeDeploy: production traffic on the original task set".into()
            }
            RollbackResult::Done => "rolled back to the previous task definition".into(),
            RollbackResult::NeverMoved => {
                "production never moved: traffic stayed on the stable slot, and the new slot is scaled back".into()
            }
            RollbackResult::Requested => "rollback to the previous task definition requested".into(),
            RollbackResult::NotAttempted(why) => format!("not rolled back: {why}"),
            RollbackResult::Failed(why) => format!("ROLLBACK FAILED: {why}"),
        }
    }
}

impl ServiceStatus {
    pub fn label(&self) -> &'static str {
        match self {
            ServiceStatus::Deployed => "deployed",
            ServiceStatus::Failed { .. } => "failed",
            ServiceStatus::RolledBackWithOthers(_) => "rolled back (another service failed)",
            ServiceStatus::Cancelled(_) => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub kind: OutcomeKind,
    pub services: Vec<ServiceResult>,
    /// Why the run did not succeed, in one line (the `rolled-back-reason` output).
    pub reason: Option<String>,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            OutcomeKind::Success | OutcomeKind::Paused | OutcomeKind::AwaitingApproval | OutcomeKind::Planned => 0,
            _ => 1,
        }
    }
}
