//! ECS-native deployments through the SDK: the service's strategy read into the domain's
//! `NativeSetup`, an UpdateService that carries the strategy overrides, and the
//! service-deployment calls (List/Describe, Stop with ROLLBACK, Continue a PAUSE hook).

use std::time::Duration;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentLifecycleHookAction, DeploymentLifecycleHookStatus,
    DeploymentLifecycleHookTargetType, DeploymentStrategy, LinearConfiguration, Service,
    ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus, StopServiceDeploymentStopType,
};

use super::classify;
use crate::domain::native::{DeploymentView, LifecycleStage, NativeSetup, NativeStrategy};
use crate::domain::service_deployment::ServiceDeploymentStatus as Status;
use crate::error::{AwsError, AwsErrorKind};

fn minutes(m: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(60 * m.map_or(default, |m| m.max(0) as u64))
}

/// The service's native setup; None for ROLLING (or a strategy this code does not know).
pub fn setup(s: &Service) -> Option<NativeSetup> {
    let c = s.deployment_configuration()?;
    // ECS's documented defaults: canary 5% for 10 minutes, linear 10% every 6 minutes.
    let strategy = match c.strategy()? {
        DeploymentStrategy::BlueGreen => NativeStrategy::BlueGreen,
        DeploymentStrategy::Canary => NativeStrategy::Canary {
            percent: c.canary_configuration().and_then(|x| x.canary_percent()).unwrap_or(5.0),
            bake: minutes(
                c.canary_configuration().and_then(|x| x.canary_bake_time_in_minutes()),
                10,
            ),
        },
        DeploymentStrategy::Linear => NativeStrategy::Linear {
            percent: c.linear_configuration().and_then(|x| x.step_percent()).unwrap_or(10.0),
            bake: minutes(c.linear_configuration().and_then(|x| x.step_bake_time_in_minutes()), 6),
        },
        _ => return None,
    };
    let lb = s.load_balancers().first();
    let adv = lb.and_then(|l| l.advanced_configuration());
    let alarms = c.alarms().filter(|a| a.enable() && a.rollback());
    Some(NativeSetup {
        strategy,
        bake: minutes(c.bake_time_in_minutes(), 0),
        production_rule: adv
            .and_then(|a| a.production_listener_rule())
            .unwrap_or_default()
            .to_string(),
        test_rule: adv.and_then(|a| a.test_listener_rule()).map(str::to_string),
        target_groups: (
            lb.and_then(|l| l.target_group_arn()).unwrap_or_default().to_string(),
            adv.and_then(|a| a.alternate_target_group_arn())
                .unwrap_or_default()
                .to_string(),
        ),
        pause_stages: c
            .lifecycle_hooks()
            .iter()
            .filter(|h| h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause))
            .flat_map(|h| h.lifecycle_stages().iter().map(|st| st.as_str().to_string()))
            .collect(),
        alarm_rollback: alarms.map(|a| a.alarm_names().to_vec()).unwrap_or_default(),
    })
}

/// UpdateService to `task_definition` with the service's own deployment configuration, its
/// strategy parameters replaced by `setup`'s (the whole configuration is sent back, so what
/// was not overridden stays as the service had it).
pub async fn start(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
    setup: &NativeSetup,
) -> Result<(), AwsError> {
    let resource = format!("service {service} in cluster {cluster}");
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeServices", &resource, e))?;
    let current = described
        .services()
        .first()
        .and_then(|s| s.deployment_configuration())
        .cloned()
        .unwrap_or_else(|| DeploymentConfiguration::builder().build());
    let mins = |d: Duration| (d.as_secs() / 60) as i32;
    let mut config = DeploymentConfiguration::builder()
        .set_deployment_circuit_breaker(current.deployment_circuit_breaker().cloned())
        .set_maximum_percent(current.maximum_percent())
        .set_minimum_healthy_percent(current.minimum_healthy_percent())
        .set_alarms(current.alarms().cloned())
        .set_strategy(current.strategy().cloned())
        .set_lifecycle_hooks(Some(current.lifecycle_hooks().to_vec()))
        .set_early_success_criteria(current.early_success_criteria().cloned())
        .bake_time_in_minutes(mins(setup.bake));
    match &setup.strategy {
        NativeStrategy::Canary { percent, bake } => {
            config = config.canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(*percent)
                    .canary_bake_time_in_minutes(mins(*bake))
                    .build(),
            )
        }
        NativeStrategy::Linear { percent, bake } => {
            config = config.linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(*percent)
                    .step_bake_time_in_minutes(mins(*bake))
                    .build(),
            )
        }
        NativeStrategy::BlueGreen => {}
    }
    ecs.update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition)
        .deployment_configuration(config.build())
        .send()
        .await
        .map_err(|e| classify("ecs:UpdateService", &resource, e))?;
    Ok(())
}

/// The service's deployments, newest first: (ARN, target revision ARN); only those that have
/// not ended with `active_only`.
pub async fn list(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    active_only: bool,
) -> Result<Vec<(String, String)>, AwsError> {
    let active = vec![
        ServiceDeploymentStatus::Pending,
        ServiceDeploymentStatus::InProgress,
        ServiceDeploymentStatus::StopRequested,
        ServiceDeploymentStatus::RollbackRequested,
        ServiceDeploymentStatus::RollbackInProgress,
    ];
    let resp = ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .set_status(active_only.then_some(active))
        .send()
        .await
        .map_err(|e| {
            classify(
                "ecs:ListServiceDeployments",
                &format!("service {service} in cluster {cluster}"),
                e,
            )
        })?;
    Ok(resp
        .service_deployments()
        .iter()
        .map(|b| {
            (
                b.service_deployment_arn().unwrap_or_default().to_string(),
                b.target_service_revision_arn().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// The task definition of a service revision.
pub async fn revision_task_definition(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<String, AwsError> {
    let resp = ecs
        .describe_service_revisions()
        .service_revision_arns(arn)
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeServiceRevisions", arn, e))?;
    resp.service_revisions()
        .first()
        .and_then(|r| r.task_definition())
        .map(str::to_string)
        .ok_or_else(|| missing("ecs:DescribeServiceRevisions", arn))
}

fn missing(operation: &'static str, arn: &str) -> AwsError {
    AwsError {
        operation,
        resource: arn.to_string(),
        message: "ECS did not find it".into(),
        kind: AwsErrorKind::NotFound,
    }
}

pub async fn describe(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<DeploymentView, AwsError> {
    let resp = ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeServiceDeployments", arn, e))?;
    let d = resp
        .service_deployments()
        .first()
        .ok_or_else(|| missing("ecs:DescribeServiceDeployments", arn))?;
    let target = d.target_service_revision();
    Ok(DeploymentView {
        arn: arn.to_string(),
        status: Status::parse(d.status().map(|s| s.as_str()).unwrap_or_default()),
        status_reason: d.status_reason().map(str::to_string),
        stage: LifecycleStage::parse(d.lifecycle_stage().map(|s| s.as_str()).unwrap_or_default()),
        target_revision: target.and_then(|t| t.arn()).unwrap_or_default().to_string(),
        production_weight: target
            .and_then(|t| t.requested_production_traffic_weight())
            .unwrap_or(0.0),
        awaiting: d
            .lifecycle_hook_details()
            .iter()
            .filter(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
            .filter_map(|h| h.hook_id().map(str::to_string))
            .collect(),
        rollback_reason: d.rollback().and_then(|r| r.reason()).map(str::to_string),
        breaker_triggered: d
            .deployment_circuit_breaker()
            .and_then(|b| b.status())
            .is_some_and(|s| *s == ServiceDeploymentRollbackMonitorsStatus::Triggered),
        triggered_alarms: d
            .alarms()
            .filter(|a| a.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered))
            .map(|a| a.triggered_alarm_names().to_vec())
            .unwrap_or_default(),
    })
}

pub async fn stop_with_rollback(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<(), AwsError> {
    ecs.stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .map_err(|e| classify("ecs:StopServiceDeployment", arn, e))?;
    Ok(())
}

pub async fn continue_hook(ecs: &aws_sdk_ecs::Client, arn: &str, hook: &str, rollback: bool) -> Result<(), AwsError> {
    let action = if rollback {
        DeploymentLifecycleHookAction::Rollback
    } else {
        DeploymentLifecycleHookAction::Continue
    };
    ecs.continue_service_deployment()
        .service_deployment_arn(arn)
        .hook_id(hook)
        .action(action)
        .send()
        .await
        .map_err(|e| classify("ecs:ContinueServiceDeployment", arn, e))?;
    Ok(())
}
