//! What we observe of an ECS service, in our own words (the ECS adapter maps SDK types to these).

use std::time::SystemTime;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceState {
    pub name: String,
    pub arn: String,
    pub status: ServiceLifecycle,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS returns them.
    pub events: Vec<ServiceEvent>,
    pub circuit_breaker: Option<CircuitBreaker>,
    pub target_groups: Vec<String>,
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL` (`domain::controller` decides what drives it).
    pub deployment_controller: crate::domain::controller::DeploymentControllerType,
    /// ECS's own deployment strategy (`deploymentConfiguration.strategy`): `ROLLING` (also when
    /// absent), or `BLUE_GREEN`, `LINEAR`, `CANARY`, which ECS drives itself.
    pub deployment_strategy: Option<String>,
    /// ECS's own strategy and the resources it shifts, when that strategy is not ROLLING.
    pub native: Option<crate::domain::native::NativeSetup>,
    /// The container and port the service's (first) load balancer sends to.
    pub load_balancer_container: Option<(String, i32)>,
}

impl ServiceState {
    /// A service `DescribeServices` did not find (ECS lists it under `failures`): status MISSING.
    pub fn missing(name: &str) -> ServiceState {
        ServiceState {
            name: name.to_string(),
            arn: String::new(),
            status: ServiceLifecycle::Missing,
            task_definition: String::new(),
            desired: 0,
            running: 0,
            pending: 0,
            deployments: vec![],
            events: vec![],
            circuit_breaker: None,
            target_groups: vec![],
            deployment_controller: Default::default(),
            deployment_strategy: None,
            native: None,
            load_balancer_container: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: String,
    pub status: DeploymentStatus,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    /// Absent on services without rollout tracking.
    pub rollout_state: Option<RolloutState>,
    pub rollout_state_reason: Option<String>,
    pub created_at: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: Option<SystemTime>,
    pub message: String,
}

impl ServiceState {
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == DeploymentStatus::Primary)
    }
    pub fn deployment(&self, id: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

use super::aws_enum::aws_enum;

aws_enum! {
    /// A service's `status`, or MISSING when DescribeServices lists it under `failures`.
    ServiceLifecycle { Active = "ACTIVE", Draining = "DRAINING", Inactive = "INACTIVE", Missing = "MISSING" }
}

// The enum comes from `aws_enum!`, which cannot mark a default variant.
#[allow(clippy::derivable_impls)]
impl Default for ServiceLifecycle {
    fn default() -> Self {
        ServiceLifecycle::Active
    }
}

aws_enum! {
    /// A deployment's `status`: the one ECS is rolling to is PRIMARY.
    DeploymentStatus { Primary = "PRIMARY", Active = "ACTIVE", Inactive = "INACTIVE" }
}

aws_enum! {
    /// A deployment's `rolloutState`.
    RolloutState { InProgress = "IN_PROGRESS", Completed = "COMPLETED", Failed = "FAILED" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_values_round_trip_and_unknown_ones_are_kept() {
        assert_eq!(ServiceLifecycle::parse("DRAINING"), ServiceLifecycle::Draining);
        assert_eq!(DeploymentStatus::parse("PRIMARY").as_aws(), "PRIMARY");
        assert_eq!(RolloutState::parse("COMPLETED"), RolloutState::Completed);
        assert_eq!(RolloutState::parse("PAUSED"), RolloutState::Other("PAUSED".into()));
        assert_eq!(ServiceLifecycle::Missing.to_string(), "MISSING");
    }
}
