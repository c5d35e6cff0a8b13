//! An ECS service deployment (ECS-native BLUE_GREEN, LINEAR, CANARY) as the follower sees it:
//! DescribeServiceDeployments' view, and the phase it puts the deployment in.

/// A service deployment, as DescribeServiceDeployments says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentView {
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED.
    pub status: String,
    pub status_reason: Option<String>,
    pub stage: String,
    pub target_revision: String,
    /// The new revision's requested share of production traffic (percent).
    pub production_weight: f64,
    /// Hooks awaiting action: (hook id, when it times out and what then).
    pub awaiting: Vec<String>,
    pub rollback_reason: Option<String>,
}

/// Where a service deployment stands, for the follower.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Not shifting production yet (scale-up, test traffic).
    Preparing,
    /// Production traffic on the new revision (shift and bake): judged.
    Serving,
    /// A PAUSE hook holds it.
    Paused {
        hook: String,
    },
    Succeeded,
    /// ECS is rolling it back (by our Stop, an alarm, the circuit breaker or a hook).
    RollingBack,
    RolledBack {
        reason: String,
    },
    /// Ended otherwise (STOPPED, ROLLBACK_FAILED).
    Ended {
        reason: String,
    },
}

impl DeploymentView {
    pub fn phase(&self) -> Phase {
        let reason = || {
            self.rollback_reason
                .clone()
                .or_else(|| self.status_reason.clone())
                .unwrap_or_else(|| self.status.clone())
        };
        match self.status.as_str() {
            "SUCCESSFUL" => Phase::Succeeded,
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "STOP_REQUESTED" => Phase::RollingBack,
            "ROLLBACK_SUCCESSFUL" => Phase::RolledBack { reason: reason() },
            "STOPPED" | "ROLLBACK_FAILED" => Phase::Ended {
                reason: format!("{}: {}", self.status, reason()),
            },
            _ => match self.awaiting.first() {
                Some(hook) => Phase::Paused { hook: hook.clone() },
                None if self.production_weight > 0.0 => Phase::Serving,
                None => Phase::Preparing,
            },
        }
    }

    /// Whether ECS will do no more to it.
    pub fn finished(&self) -> bool {
        matches!(
            self.phase(),
            Phase::Succeeded | Phase::RolledBack { .. } | Phase::Ended { .. }
        )
    }
}

/// Whether a smoke check may answer the hook at this stage: test traffic is on the new
/// revision and production is not yet.
pub fn smoke_stage(stage: &str) -> bool {
    matches!(stage, "POST_TEST_TRAFFIC_SHIFT" | "PRE_PRODUCTION_TRAFFIC_SHIFT")
}
