//! One-off tasks: RunTask placed like a service, and DescribeTasks read into the domain's
//! `TaskStatus`.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LogDriver, NetworkConfiguration, TaskDefinition,
    TaskOverride,
};

use super::classify;
use crate::domain::one_off_task::{AwsLogs, ContainerStatus, RunTaskRequest, StartedTask, TaskStatus, STARTED_BY};
use crate::error::{AwsError, AwsErrorKind};

/// Starts the task. `td` is the described task definition of `req.task_definition`.
pub async fn run(
    ecs: &aws_sdk_ecs::Client,
    req: &RunTaskRequest,
    td: &TaskDefinition,
) -> Result<StartedTask, AwsError> {
    let resource = format!("task definition {}", req.task_definition);
    let described = ecs
        .describe_services()
        .cluster(&req.cluster)
        .services(&req.like_service)
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeServices", &format!("service {}", req.like_service), e))?;
    let service = described.services().first().ok_or_else(|| AwsError {
        operation: "ecs:DescribeServices",
        resource: format!("service {} in cluster {}", req.like_service, req.cluster),
        message: "the service was not found".into(),
        kind: AwsErrorKind::NotFound,
    })?;
    let network = if req.subnets.is_empty() {
        service.network_configuration().cloned()
    } else {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(req.subnets.clone()))
            .set_security_groups(Some(req.security_groups.clone()).filter(|g| !g.is_empty()))
            .set_assign_public_ip(req.assign_public_ip.map(|on| {
                if on {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                }
            }))
            .build()
            .map_err(|e| AwsError {
                operation: "ecs:RunTask",
                resource: resource.clone(),
                message: e.to_string(),
                kind: AwsErrorKind::Invalid,
            })?;
        Some(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    };
    let strategy = service.capacity_provider_strategy().to_vec();
    let overrides = TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name(&req.container)
                .set_command(Some(req.command.clone()))
                .build(),
        )
        .build();
    let out = ecs
        .run_task()
        .cluster(&req.cluster)
        .task_definition(&req.task_definition)
        .count(1)
        .started_by(STARTED_BY)
        .overrides(overrides)
        .set_network_configuration(network)
        .set_launch_type(service.launch_type().cloned().filter(|_| strategy.is_empty()))
        .set_capacity_provider_strategy(Some(strategy.clone()).filter(|s| !s.is_empty()))
        .set_platform_version(service.platform_version().map(str::to_string))
        .send()
        .await
        .map_err(|e| classify("ecs:RunTask", &resource, e))?;
    let Some(arn) = out.tasks().first().and_then(|t| t.task_arn()) else {
        let reasons: Vec<String> = out
            .failures()
            .iter()
            .map(|f| {
                [f.reason(), f.detail()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .collect();
        return Err(AwsError {
            operation: "ecs:RunTask",
            resource,
            message: format!("ECS started no task ({})", reasons.join("; ")),
            kind: AwsErrorKind::Other,
        });
    };
    Ok(StartedTask {
        arn: arn.to_string(),
        logs: awslogs(td, &req.container),
    })
}

/// The `awslogs` options of a container, when it logs to CloudWatch Logs.
fn awslogs(td: &TaskDefinition, container: &str) -> Option<AwsLogs> {
    let c = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container))?;
    let config = c.log_configuration()?;
    if *config.log_driver() != LogDriver::Awslogs {
        return None;
    }
    let options = config.options()?;
    Some(AwsLogs {
        group: options.get("awslogs-group")?.clone(),
        region: options.get("awslogs-region")?.clone(),
        stream_prefix: options.get("awslogs-stream-prefix").cloned(),
    })
}

/// The task as DescribeTasks has it, with its task definition's ARN; `essential` is left true
/// (ECS's default) for the caller to correct from that task definition (`mark_essential`).
pub async fn describe(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    arn: &str,
) -> Result<Option<(TaskStatus, Option<String>)>, AwsError> {
    let out = ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(arn)
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeTasks", &format!("task {arn}"), e))?;
    let Some(task) = out.tasks().first() else {
        return Ok(None);
    };
    let status = TaskStatus {
        last_status: task.last_status().unwrap_or_default().to_string(),
        stop_code: task.stop_code().map(|c| c.as_str().to_string()),
        stopped_reason: task.stopped_reason().map(str::to_string),
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerStatus {
                essential: true,
                name: c.name().unwrap_or_default().to_string(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
            })
            .collect(),
    };
    Ok(Some((status, task.task_definition_arn().map(str::to_string))))
}

/// A container the task definition marks `essential: false` is not held to exit code 0.
pub fn mark_essential(status: &mut TaskStatus, td: &TaskDefinition) {
    for c in &mut status.containers {
        if let Some(def) = td
            .container_definitions()
            .iter()
            .find(|d| d.name() == Some(c.name.as_str()))
        {
            c.essential = def.essential().unwrap_or(true);
        }
    }
}
