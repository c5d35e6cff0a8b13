//! CodeDeploy through the SDK, for ECS services on the CODE_DEPLOY controller: the deployment
//! group, CreateDeployment with AppSpec content, the deployment and its ECS target, Stop with
//! auto-rollback, and the deployments still running in a group.

use std::time::Duration;

use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, EcsTarget, RevisionLocation, RevisionLocationType, TargetStatus,
};

use super::classify;
use crate::domain::codedeploy::{CodeDeployStatus, DeploymentGroup, DeploymentView, EventStatus};
use crate::error::{AwsError, AwsErrorKind};

pub async fn group(
    cd: &aws_sdk_codedeploy::Client,
    application: &str,
    name: &str,
) -> Result<DeploymentGroup, AwsError> {
    let resource = format!("deployment group {name} of CodeDeploy application {application}");
    let out = cd
        .get_deployment_group()
        .application_name(application)
        .deployment_group_name(name)
        .send()
        .await
        .map_err(|e| classify("codedeploy:GetDeploymentGroup", &resource, e))?;
    let g = out.deployment_group_info().ok_or_else(|| AwsError {
        operation: "codedeploy:GetDeploymentGroup",
        resource: resource.clone(),
        message: "no such deployment group".into(),
        kind: AwsErrorKind::NotFound,
    })?;
    let pair = g
        .load_balancer_info()
        .and_then(|l| l.target_group_pair_info_list().first());
    let listener = |route: Option<&aws_sdk_codedeploy::types::TrafficRoute>| {
        route.and_then(|r| r.listener_arns().first()).cloned()
    };
    let rollback_on_alarm = g
        .auto_rollback_configuration()
        .is_some_and(|r| r.enabled() && r.events().iter().any(|e| e.as_str() == "DEPLOYMENT_STOP_ON_ALARM"));
    let alarms = g
        .alarm_configuration()
        .filter(|a| a.enabled() && rollback_on_alarm)
        .map(|a| a.alarms().iter().filter_map(|x| x.name().map(str::to_string)).collect())
        .unwrap_or_default();
    let wait = g
        .blue_green_deployment_configuration()
        .and_then(|b| b.terminate_blue_instances_on_deployment_success())
        .map(|t| t.termination_wait_time_in_minutes())
        .unwrap_or(0);
    Ok(DeploymentGroup {
        application: application.to_string(),
        name: name.to_string(),
        config: g.deployment_config_name().unwrap_or_default().to_string(),
        services: g
            .ecs_services()
            .iter()
            .map(|s| {
                (
                    s.cluster_name().unwrap_or_default().to_string(),
                    s.service_name().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        production_listener: listener(pair.and_then(|p| p.prod_traffic_route())),
        test_listener: listener(pair.and_then(|p| p.test_traffic_route())),
        alarm_rollback: alarms,
        termination_wait: Duration::from_secs(60 * wait.max(0) as u64),
    })
}

/// Whether a deployment configuration of that name exists.
pub async fn config_exists(cd: &aws_sdk_codedeploy::Client, name: &str) -> Result<(), AwsError> {
    cd.get_deployment_config()
        .deployment_config_name(name)
        .send()
        .await
        .map_err(|e| {
            classify(
                "codedeploy:GetDeploymentConfig",
                &format!("deployment config {name}"),
                e,
            )
        })?;
    Ok(())
}

pub async fn create(
    cd: &aws_sdk_codedeploy::Client,
    group: &DeploymentGroup,
    appspec: &str,
    config: Option<&str>,
) -> Result<String, AwsError> {
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().content(appspec).build())
        .build();
    let out = cd
        .create_deployment()
        .application_name(&group.application)
        .deployment_group_name(&group.name)
        .revision(revision)
        .set_deployment_config_name(config.map(str::to_string))
        .description("ecs-deploy-action")
        .send()
        .await
        .map_err(|e| {
            classify(
                "codedeploy:CreateDeployment",
                &format!("deployment group {}", group.name),
                e,
            )
        })?;
    Ok(out.deployment_id().unwrap_or_default().to_string())
}

/// The group's deployments that have not ended, newest first.
pub async fn active(cd: &aws_sdk_codedeploy::Client, group: &DeploymentGroup) -> Result<Vec<String>, AwsError> {
    let out = cd
        .list_deployments()
        .application_name(&group.application)
        .deployment_group_name(&group.name)
        .set_include_only_statuses(Some(vec![
            DeploymentStatus::Created,
            DeploymentStatus::Queued,
            DeploymentStatus::InProgress,
            DeploymentStatus::Ready,
        ]))
        .send()
        .await
        .map_err(|e| {
            classify(
                "codedeploy:ListDeployments",
                &format!("deployment group {}", group.name),
                e,
            )
        })?;
    Ok(out.deployments().to_vec())
}

pub async fn describe(cd: &aws_sdk_codedeploy::Client, id: &str) -> Result<DeploymentView, AwsError> {
    let resource = format!("CodeDeploy deployment {id}");
    let out = cd
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| classify("codedeploy:GetDeployment", &resource, e))?;
    let info = out.deployment_info();
    let mut view = DeploymentView {
        id: id.to_string(),
        status: CodeDeployStatus::parse(info.and_then(|i| i.status()).map(|s| s.as_str()).unwrap_or_default()),
        error: info.and_then(|i| i.error_information()).and_then(|e| {
            let code = e.code().map(|c| c.as_str().to_string());
            let message = e.message().map(str::to_string);
            match (code, message) {
                (None, None) => None,
                (c, m) => Some(format!("{}: {}", c.unwrap_or_default(), m.unwrap_or_default())),
            }
        }),
        rollback_deployment: info
            .and_then(|i| i.rollback_info())
            .and_then(|r| r.rollback_deployment_id())
            .map(str::to_string),
        termination_wait_started: info.is_some_and(|i| i.instance_termination_wait_time_started()),
        ..Default::default()
    };
    let targets = cd
        .list_deployment_targets()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| classify("codedeploy:ListDeploymentTargets", &resource, e))?;
    if targets.target_ids().is_empty() {
        return Ok(view);
    }
    let out = cd
        .batch_get_deployment_targets()
        .deployment_id(id)
        .set_target_ids(Some(targets.target_ids().to_vec()))
        .send()
        .await
        .map_err(|e| classify("codedeploy:BatchGetDeploymentTargets", &resource, e))?;
    if let Some(t) = out.deployment_targets().iter().find_map(|t| t.ecs_target()) {
        fill(&mut view, t);
    }
    Ok(view)
}

fn fill(view: &mut DeploymentView, t: &EcsTarget) {
    view.green_weight = t
        .task_sets_info()
        .iter()
        .find(|s| s.task_set_label().map(|l| l.as_str()) == Some("Green"))
        .map(|s| s.traffic_weight())
        .unwrap_or(0.0);
    view.events = t
        .lifecycle_events()
        .iter()
        .map(|e| {
            let diagnostics = e.diagnostics().map(|d| {
                let mut s = d.message().unwrap_or_default().to_string();
                if let Some(tail) = d.log_tail().filter(|t| !t.is_empty()) {
                    s.push_str(&format!(" (log: {tail})"));
                }
                s
            });
            (
                e.lifecycle_event_name().unwrap_or_default().to_string(),
                EventStatus::parse(e.status().map(|s| s.as_str()).unwrap_or_default()),
                diagnostics,
            )
        })
        .collect();
    if t.status() == Some(&TargetStatus::Failed) && view.error.is_none() {
        view.error = Some("the ECS target failed".into());
    }
}

/// StopDeployment with auto-rollback: CodeDeploy puts traffic back on the original task set.
pub async fn stop(cd: &aws_sdk_codedeploy::Client, id: &str) -> Result<(), AwsError> {
    cd.stop_deployment()
        .deployment_id(id)
        .auto_rollback_enabled(true)
        .send()
        .await
        .map_err(|e| classify("codedeploy:StopDeployment", &format!("CodeDeploy deployment {id}"), e))?;
    Ok(())
}
