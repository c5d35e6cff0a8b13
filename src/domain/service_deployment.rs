//! An ECS service deployment (ECS-native BLUE_GREEN, LINEAR, CANARY) as the follower sees it:
//! DescribeServiceDeployments' view, and the phase it puts the deployment in.

use super::aws_enum::aws_enum;

/// A service deployment, as DescribeServiceDeployments says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentView {
    pub arn: String,
    pub status: ServiceDeploymentStatus,
    pub status_reason: Option<String>,
    pub stage: LifecycleStage,
    pub target_revision: String,
    /// The new revision's requested share of production traffic (percent).
    pub production_weight: f64,
    /// Hooks awaiting action: (hook id, when it times out and what then).
    pub awaiting: Vec<String>,
    pub rollback_reason: Option<String>,
    /// Its circuit breaker's `status` is TRIGGERED (rolling deployments).
    pub breaker_triggered: bool,
    /// Its deployment alarms that went into ALARM (`alarms.triggeredAlarmNames`, when the
    /// alarms' `status` is TRIGGERED).
    pub triggered_alarms: Vec<String>,
}

aws_enum! {
    /// A service deployment's `status` (ECS API Reference, ServiceDeployment).
    ServiceDeploymentStatus {
        Pending = "PENDING",
        InProgress = "IN_PROGRESS",
        Successful = "SUCCESSFUL",
        Stopped = "STOPPED",
        StopRequested = "STOP_REQUESTED",
        RollbackRequested = "ROLLBACK_REQUESTED",
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        RollbackSuccessful = "ROLLBACK_SUCCESSFUL",
        RollbackFailed = "ROLLBACK_FAILED",
    }
}

aws_enum! {
    /// A service deployment's `lifecycleStage` (ECS API Reference, ServiceDeployment).
    LifecycleStage {
        ReconcileService = "RECONCILE_SERVICE",
        PreScaleUp = "PRE_SCALE_UP",
        ScaleUp = "SCALE_UP",
        PostScaleUp = "POST_SCALE_UP",
        TestTrafficShift = "TEST_TRAFFIC_SHIFT",
        PostTestTrafficShift = "POST_TEST_TRAFFIC_SHIFT",
        PreProductionTrafficShift = "PRE_PRODUCTION_TRAFFIC_SHIFT",
        ProductionTrafficShift = "PRODUCTION_TRAFFIC_SHIFT",
        PostProductionTrafficShift = "POST_PRODUCTION_TRAFFIC_SHIFT",
        BakeTime = "BAKE_TIME",
        CleanUp = "CLEAN_UP",
    }
}

/// Not read yet: a default view holds no AWS value.
impl Default for ServiceDeploymentStatus {
    fn default() -> Self {
        ServiceDeploymentStatus::Other(String::new())
    }
}

impl Default for LifecycleStage {
    fn default() -> Self {
        LifecycleStage::Other(String::new())
    }
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
                .unwrap_or_else(|| self.status.to_string())
        };
        use ServiceDeploymentStatus as S;
        match self.status {
            S::Successful => Phase::Succeeded,
            S::RollbackRequested | S::RollbackInProgress | S::StopRequested => Phase::RollingBack,
            S::RollbackSuccessful => Phase::RolledBack { reason: reason() },
            S::Stopped | S::RollbackFailed => Phase::Ended {
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
pub fn smoke_stage(stage: &LifecycleStage) -> bool {
    matches!(
        stage,
        LifecycleStage::PostTestTrafficShift | LifecycleStage::PreProductionTrafficShift
    )
}
