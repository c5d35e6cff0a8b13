//! A DescribeServices service, as the domain reads it: the SDK's shape mapped once.

use super::system_time;
use crate::domain::service::{
    CircuitBreaker, Deployment, DeploymentStatus, RolloutState, ServiceEvent, ServiceLifecycle, ServiceState,
};

/// The domain's view of one service.
pub(super) fn service_state(s: &aws_sdk_ecs::types::Service) -> ServiceState {
    let breaker = s
        .deployment_configuration()
        .and_then(|c| c.deployment_circuit_breaker())
        .map(|b| CircuitBreaker {
            enable: b.enable(),
            rollback: b.rollback(),
        });
    ServiceState {
        name: s.service_name().unwrap_or_default().to_string(),
        arn: s.service_arn().unwrap_or_default().to_string(),
        status: ServiceLifecycle::parse(s.status().unwrap_or("UNKNOWN")),
        task_definition: s.task_definition().unwrap_or_default().to_string(),
        desired: s.desired_count(),
        running: s.running_count(),
        pending: s.pending_count(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_string(),
                status: DeploymentStatus::parse(d.status().unwrap_or_default()),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired: d.desired_count(),
                running: d.running_count(),
                pending: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                rollout_state: d.rollout_state().map(|r| RolloutState::parse(r.as_str())),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                created_at: system_time(d.created_at()),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .map(|e| ServiceEvent {
                id: e.id().unwrap_or_default().to_string(),
                created_at: system_time(e.created_at()),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
        circuit_breaker: breaker,
        target_groups: s
            .load_balancers()
            .iter()
            .filter_map(|l| l.target_group_arn().map(str::to_string))
            .collect(),
        deployment_controller: s
            .deployment_controller()
            .map(|c| crate::domain::controller::DeploymentControllerType::parse(c.r#type().as_str()))
            .unwrap_or_default(),
        deployment_strategy: s
            .deployment_configuration()
            .and_then(|c| c.strategy())
            .map(|st| st.as_str().to_string()),
        native: super::ecs_native::setup(s),
        load_balancer_container: s
            .load_balancers()
            .first()
            .and_then(|l| Some((l.container_name()?.to_string(), l.container_port()?))),
    }
}
