//! What ECS and the load balancer say about a failed deployment: service events since it
//! began, the stopped tasks of the new revision with their reasons and exit codes, and the
//! targets that are not healthy. Never fails: what could not be read is listed as a gap.

use std::time::SystemTime;

use aws_sdk_ecs::types::DesiredStatus;

use super::{classify, system_time};
use crate::domain::diagnostics::{Diagnostics, StoppedTask, TargetProblem};
use crate::domain::service::ServiceState;

pub async fn gather(
    ecs: &aws_sdk_ecs::Client,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    cluster: &str,
    service: &ServiceState,
    task_definition: &str,
    since: SystemTime,
) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut events: Vec<_> = service
        .events
        .iter()
        .filter(|e| e.created_at.is_none_or(|t| t >= since))
        .map(|e| e.message.clone())
        .collect();
    events.reverse();
    events.truncate(50);
    d.events = events;

    match ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(&service.name)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
    {
        Err(e) => d.gaps.push(classify("ecs:ListTasks", &service.name, e).to_string()),
        Ok(list) if !list.task_arns().is_empty() => {
            let arns: Vec<String> = list.task_arns().iter().take(100).cloned().collect();
            match ecs.describe_tasks().cluster(cluster).set_tasks(Some(arns)).send().await {
                Err(e) => d.gaps.push(classify("ecs:DescribeTasks", &service.name, e).to_string()),
                Ok(tasks) => {
                    for t in tasks.tasks() {
                        if t.task_definition_arn() != Some(task_definition) {
                            continue;
                        }
                        let stopped_at = system_time(t.stopped_at());
                        if stopped_at.is_some_and(|s| s < since) {
                            continue;
                        }
                        d.stopped_tasks.push(StoppedTask {
                            task_id: t
                                .task_arn()
                                .and_then(|a| a.rsplit('/').next())
                                .unwrap_or_default()
                                .to_string(),
                            task_definition: task_definition.to_string(),
                            stopped_reason: t.stopped_reason().unwrap_or("no reason given").to_string(),
                            stopped_at,
                            containers: t
                                .containers()
                                .iter()
                                .map(|c| {
                                    (
                                        c.name().unwrap_or_default().to_string(),
                                        c.exit_code(),
                                        c.reason().map(str::to_string),
                                    )
                                })
                                .collect(),
                        });
                    }
                    d.stopped_tasks.truncate(10);
                }
            }
        }
        Ok(_) => {}
    }

    for tg in &service.target_groups {
        match elb.describe_target_health().target_group_arn(tg).send().await {
            Err(e) => d
                .gaps
                .push(classify("elasticloadbalancing:DescribeTargetHealth", tg, e).to_string()),
            Ok(h) => {
                for desc in h.target_health_descriptions() {
                    let Some(health) = desc.target_health() else {
                        continue;
                    };
                    let state = health.state().map(|s| s.as_str().to_string()).unwrap_or_default();
                    if state == "healthy" {
                        continue;
                    }
                    d.unhealthy_targets.push(TargetProblem {
                        target_group: tg.rsplit(':').next().unwrap_or(tg).to_string(),
                        target: desc
                            .target()
                            .map(|t| format!("{}:{}", t.id().unwrap_or_default(), t.port().unwrap_or_default()))
                            .unwrap_or_default(),
                        state,
                        reason: health.reason().map(|r| r.as_str().to_string()).unwrap_or_default(),
                        description: health.description().unwrap_or_default().to_string(),
                    });
                }
            }
        }
    }
    d
}
