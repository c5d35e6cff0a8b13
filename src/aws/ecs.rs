//! ECS (and, for diagnostics, the target health of the service's target groups).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_ecs::types::{Tag, TaskDefinition, TaskDefinitionField};

use super::classify;
use super::ecs_service_state::service_state;
use crate::domain::diagnostics::Diagnostics;
use crate::domain::one_off_task::{RunTaskRequest, StartedTask, TaskStatus};
use crate::domain::service::{DeploymentStatus, ServiceState};
use crate::error::{AwsError, AwsErrorKind};
use crate::ports::{Ecs, TaskDefinitionInfo, TaskDefinitionSource};

/// ECS allows 10 services per `DescribeServices` call.
pub const DESCRIBE_BATCH: usize = 10;

pub struct EcsAdapter {
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    codedeploy: aws_sdk_codedeploy::Client,
    /// Task definitions as described, so a revision copies every field we do not change.
    described: Mutex<HashMap<String, TaskDefinition>>,
}

impl EcsAdapter {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        EcsAdapter {
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            codedeploy: aws_sdk_codedeploy::Client::new(config),
            described: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, arn: &str) -> Option<TaskDefinition> {
        self.described.lock().ok()?.get(arn).cloned()
    }

    /// The whole task definition, described once per run.
    async fn definition(&self, arn: &str) -> Result<TaskDefinition, AwsError> {
        if let Some(td) = self.cached(arn) {
            return Ok(td);
        }
        self.describe_task_definition(arn).await?;
        self.cached(arn).ok_or_else(|| AwsError {
            operation: "ecs:DescribeTaskDefinition",
            resource: format!("task definition {arn}"),
            message: "could not keep the described task definition".into(),
            kind: AwsErrorKind::Other,
        })
    }
}

#[async_trait]
impl Ecs for EcsAdapter {
    async fn describe_services(&self, cluster: &str, services: &[String]) -> Result<Vec<ServiceState>, AwsError> {
        let mut out = Vec::with_capacity(services.len());
        for batch in services.chunks(DESCRIBE_BATCH) {
            let resp = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify("ecs:DescribeServices", &format!("cluster {cluster}"), e))?;
            for name in batch {
                let found = resp.services().iter().find(|s| {
                    s.service_name() == Some(name.as_str())
                        || s.service_arn().is_some_and(|a| a.ends_with(&format!("/{name}")))
                });
                out.push(found.map(service_state).unwrap_or_else(|| ServiceState::missing(name)));
            }
        }
        Ok(out)
    }

    async fn describe_task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        let resp = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| classify("ecs:DescribeTaskDefinition", &format!("task definition {arn}"), e))?;
        let td = resp.task_definition().cloned().ok_or_else(|| AwsError {
            operation: "ecs:DescribeTaskDefinition",
            resource: format!("task definition {arn}"),
            message: "no task definition in the response".into(),
            kind: AwsErrorKind::NotFound,
        })?;
        let info = TaskDefinitionInfo {
            arn: td.task_definition_arn().unwrap_or(arn).to_string(),
            family: td.family().unwrap_or_default().to_string(),
            revision: td.revision(),
            containers: td
                .container_definitions()
                .iter()
                .map(|c| {
                    (
                        c.name().unwrap_or_default().to_string(),
                        c.image().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            tags: resp
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                .collect(),
        };
        if let Ok(mut cache) = self.described.lock() {
            cache.insert(arn.to_string(), td.clone());
            cache.insert(info.arn.clone(), td);
        }
        Ok(info)
    }

    async fn register_revision(
        &self,
        base: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let td = self.definition(base).await?;
        super::ecs_register::register(&self.ecs, &td, images, tags).await
    }

    async fn register_file(
        &self,
        json: &str,
        path: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let td = super::ecs_register::parse_file(json, path).await?;
        super::ecs_register::register(&self.ecs, &td, images, tags).await
    }

    async fn summary(&self, source: TaskDefinitionSource<'_>) -> Result<serde_json::Value, AwsError> {
        let td = match source {
            TaskDefinitionSource::Revision(arn) => self.definition(arn).await?,
            TaskDefinitionSource::File { json, path, images } => {
                let mut td = super::ecs_register::parse_file(json, path).await?;
                td.container_definitions = Some(
                    td.container_definitions()
                        .iter()
                        .map(|c| {
                            let mut c = c.clone();
                            if let Some((_, image)) = images.iter().find(|(n, _)| Some(n.as_str()) == c.name()) {
                                c.image = Some(image.clone());
                            }
                            c
                        })
                        .collect(),
                );
                td
            }
        };
        Ok(super::ecs_register::summary(&td))
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        desired: Option<i32>,
    ) -> Result<String, AwsError> {
        let resource = format!("service {service} in cluster {cluster}");
        let resp = self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .set_desired_count(desired)
            .send()
            .await
            .map_err(|e| classify("ecs:UpdateService", &resource, e))?;
        let svc = resp.service().map(service_state);
        svc.as_ref()
            .and_then(|s| {
                s.deployments
                    .iter()
                    .find(|d| d.status == DeploymentStatus::Primary && d.task_definition == task_definition)
                    .map(|d| d.id.clone())
            })
            .ok_or(AwsError {
                operation: "ecs:UpdateService",
                resource,
                message: format!("ECS started no deployment of {task_definition}"),
                kind: AwsErrorKind::Other,
            })
    }

    async fn scale_service(&self, cluster: &str, service: &str, desired: i32) -> Result<(), AwsError> {
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(desired)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                classify(
                    "ecs:UpdateService",
                    &format!("service {service} in cluster {cluster}"),
                    e,
                )
            })
    }

    async fn service_tags(&self, service_arn: &str) -> Result<Vec<(String, String)>, AwsError> {
        let out = self
            .ecs
            .list_tags_for_resource()
            .resource_arn(service_arn)
            .send()
            .await
            .map_err(|e| classify("ecs:ListTagsForResource", service_arn, e))?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect())
    }

    async fn tag_service(&self, service_arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.ecs
            .tag_resource()
            .resource_arn(service_arn)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("ecs:TagResource", service_arn, e))
    }

    async fn untag_service(&self, service_arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.ecs
            .untag_resource()
            .resource_arn(service_arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("ecs:UntagResource", service_arn, e))
    }

    async fn task_definition_history(&self, family: &str, limit: usize) -> Result<Vec<TaskDefinitionInfo>, AwsError> {
        let arns = super::ecs_revisions::active(&self.ecs, family).await?;
        let mut infos = Vec::new();
        for arn in arns.iter().take(limit) {
            infos.push(self.describe_task_definition(arn).await?);
        }
        Ok(infos)
    }

    async fn active_revisions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        super::ecs_revisions::active(&self.ecs, family).await
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError> {
        super::ecs_revisions::deregister(&self.ecs, arn).await
    }

    async fn start_native(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        setup: &crate::domain::native::NativeSetup,
    ) -> Result<(), AwsError> {
        super::ecs_native::start(&self.ecs, cluster, service, task_definition, setup).await
    }

    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        active_only: bool,
    ) -> Result<Vec<(String, String)>, AwsError> {
        super::ecs_native::list(&self.ecs, cluster, service, active_only).await
    }

    async fn revision_task_definition(&self, revision_arn: &str) -> Result<String, AwsError> {
        super::ecs_native::revision_task_definition(&self.ecs, revision_arn).await
    }

    async fn service_deployment(&self, arn: &str) -> Result<crate::domain::native::DeploymentView, AwsError> {
        super::ecs_native::describe(&self.ecs, arn).await
    }

    async fn stop_service_deployment(&self, arn: &str) -> Result<(), AwsError> {
        super::ecs_native::stop_with_rollback(&self.ecs, arn).await
    }

    async fn continue_service_deployment(&self, arn: &str, hook: &str, rollback: bool) -> Result<(), AwsError> {
        super::ecs_native::continue_hook(&self.ecs, arn, hook, rollback).await
    }

    async fn codedeploy_group(
        &self,
        application: &str,
        name: &str,
    ) -> Result<crate::domain::codedeploy::DeploymentGroup, AwsError> {
        super::codedeploy::group(&self.codedeploy, application, name).await
    }

    async fn codedeploy_config_exists(&self, name: &str) -> Result<(), AwsError> {
        super::codedeploy::config_exists(&self.codedeploy, name).await
    }

    async fn codedeploy_create(
        &self,
        group: &crate::domain::codedeploy::DeploymentGroup,
        appspec: &str,
        config: Option<&str>,
    ) -> Result<String, AwsError> {
        super::codedeploy::create(&self.codedeploy, group, appspec, config).await
    }

    async fn codedeploy_active(
        &self,
        group: &crate::domain::codedeploy::DeploymentGroup,
    ) -> Result<Vec<String>, AwsError> {
        super::codedeploy::active(&self.codedeploy, group).await
    }

    async fn codedeploy_deployment(&self, id: &str) -> Result<crate::domain::codedeploy::DeploymentView, AwsError> {
        super::codedeploy::describe(&self.codedeploy, id).await
    }

    async fn codedeploy_stop(&self, id: &str) -> Result<(), AwsError> {
        super::codedeploy::stop(&self.codedeploy, id).await
    }

    async fn run_task(&self, req: &RunTaskRequest) -> Result<StartedTask, AwsError> {
        let td = self.definition(&req.task_definition).await?;
        super::ecs_tasks::run(&self.ecs, req, &td).await
    }

    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskStatus>, AwsError> {
        let Some((mut status, td)) = super::ecs_tasks::describe(&self.ecs, cluster, task_arn).await? else {
            return Ok(None);
        };
        if let Some(td) = td {
            if let Ok(td) = self.definition(&td).await {
                super::ecs_tasks::mark_essential(&mut status, &td);
            }
        }
        Ok(Some(status))
    }

    async fn diagnostics(
        &self,
        cluster: &str,
        service: &ServiceState,
        task_definition: &str,
        since: SystemTime,
    ) -> Diagnostics {
        super::ecs_diagnostics::gather(&self.ecs, &self.elb, cluster, service, task_definition, since).await
    }
}
