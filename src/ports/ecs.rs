//! ECS: services, task definitions, one-off tasks and ECS-native service deployments.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::domain::diagnostics::Diagnostics;
use crate::domain::one_off_task::{RunTaskRequest, StartedTask, TaskStatus};
use crate::domain::service::ServiceState;
use crate::error::AwsError;

/// The parts of a task definition the domain reasons about.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionInfo {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    /// (container name, image) in definition order.
    pub containers: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

/// A task definition to summarize: a registered revision, or a file with images substituted.
#[derive(Debug, Clone, Copy)]
pub enum TaskDefinitionSource<'a> {
    Revision(&'a str),
    File {
        json: &'a str,
        path: &'a str,
        images: &'a [(String, String)],
    },
}

#[async_trait]
pub trait Ecs: Send + Sync {
    /// Any number of services; the adapter batches 10 per `DescribeServices` call.
    /// Services that do not exist come back with status `MISSING`.
    async fn describe_services(&self, cluster: &str, services: &[String]) -> Result<Vec<ServiceState>, AwsError>;
    async fn describe_task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError>;
    /// Registers a copy of `base` with the given container images and tags; returns the new ARN.
    async fn register_revision(
        &self,
        base: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError>;
    /// Registers a revision from a task-definition file (its JSON text, named `path` in errors),
    /// with the release's images per container and tags.
    async fn register_file(
        &self,
        json: &str,
        path: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError>;
    /// What `command: plan` diffs of a revision, or of a file with `images` substituted
    /// (`domain::td_diff`).
    async fn summary(&self, source: TaskDefinitionSource<'_>) -> Result<serde_json::Value, AwsError>;
    /// Points the service at `task_definition` (and, if given, sets its desired count); returns
    /// the id of the deployment ECS started.
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        desired: Option<i32>,
    ) -> Result<String, AwsError>;
    /// Changes only the desired count (no new deployment).
    async fn scale_service(&self, cluster: &str, service: &str, desired: i32) -> Result<(), AwsError>;
    async fn service_tags(&self, service_arn: &str) -> Result<Vec<(String, String)>, AwsError>;
    /// Tags any ECS resource (services, task definitions).
    async fn tag_service(&self, service_arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes the tags with these keys (absent keys are not an error).
    async fn untag_service(&self, service_arn: &str, keys: &[String]) -> Result<(), AwsError>;
    /// The newest revisions of a task-definition family (newest first, at most `limit`), with tags.
    async fn task_definition_history(&self, family: &str, limit: usize) -> Result<Vec<TaskDefinitionInfo>, AwsError>;
    /// ARNs of the family's ACTIVE revisions, newest first (no describe per revision).
    async fn active_revisions(&self, family: &str) -> Result<Vec<String>, AwsError>;
    /// Marks a revision INACTIVE (services already running it keep running and scaling).
    async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError>;
    /// Starts a one-off task of the request's task definition, placed like its service (network,
    /// launch type or capacity providers, platform version) unless the request overrides the
    /// network. Retried attempts reuse one idempotency token: at most one task starts.
    async fn run_task(&self, req: &RunTaskRequest) -> Result<StartedTask, AwsError>;
    /// ECS's account of a task; `None` while DescribeTasks does not list it yet (RunTask's
    /// tasks appear late: eventual consistency).
    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskStatus>, AwsError>;
    /// ECS-native deployments (`domain::native`): UpdateService to `task_definition` with the
    /// service's own deployment configuration, its strategy parameters taken from `setup`.
    async fn start_native(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        setup: &crate::domain::native::NativeSetup,
    ) -> Result<(), AwsError> {
        let _ = (cluster, task_definition, setup);
        Err(no_native("ecs:UpdateService", service))
    }
    /// The service's deployments, newest first: (ARN, target revision ARN). `active_only`:
    /// those that have not ended; else every one ECS lists (a deployment that ended at once,
    /// rolled back by an alarm already firing, must still be found).
    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        active_only: bool,
    ) -> Result<Vec<(String, String)>, AwsError> {
        let _ = (cluster, active_only);
        Err(no_native("ecs:ListServiceDeployments", service))
    }
    /// The task definition of a service revision.
    async fn revision_task_definition(&self, revision_arn: &str) -> Result<String, AwsError> {
        Err(no_native("ecs:DescribeServiceRevisions", revision_arn))
    }
    async fn service_deployment(&self, arn: &str) -> Result<crate::domain::native::DeploymentView, AwsError> {
        Err(no_native("ecs:DescribeServiceDeployments", arn))
    }
    /// StopServiceDeployment with ROLLBACK: ECS puts production back on the previous revision.
    async fn stop_service_deployment(&self, arn: &str) -> Result<(), AwsError> {
        Err(no_native("ecs:StopServiceDeployment", arn))
    }
    /// Answers a PAUSE hook: CONTINUE, or ROLLBACK.
    async fn continue_service_deployment(&self, arn: &str, hook: &str, rollback: bool) -> Result<(), AwsError> {
        let _ = (hook, rollback);
        Err(no_native("ecs:ContinueServiceDeployment", arn))
    }
    /// CodeDeploy, for services on the CODE_DEPLOY controller (`domain::codedeploy`).
    async fn codedeploy_group(
        &self,
        application: &str,
        name: &str,
    ) -> Result<crate::domain::codedeploy::DeploymentGroup, AwsError> {
        let _ = application;
        Err(no_native("codedeploy:GetDeploymentGroup", name))
    }
    async fn codedeploy_config_exists(&self, name: &str) -> Result<(), AwsError> {
        Err(no_native("codedeploy:GetDeploymentConfig", name))
    }
    /// CreateDeployment with the AppSpec (and a deployment config, else the group's); its id.
    async fn codedeploy_create(
        &self,
        group: &crate::domain::codedeploy::DeploymentGroup,
        appspec: &str,
        config: Option<&str>,
    ) -> Result<String, AwsError> {
        let _ = (appspec, config);
        Err(no_native("codedeploy:CreateDeployment", &group.name))
    }
    /// The group's deployments that have not ended.
    async fn codedeploy_active(
        &self,
        group: &crate::domain::codedeploy::DeploymentGroup,
    ) -> Result<Vec<String>, AwsError> {
        Err(no_native("codedeploy:ListDeployments", &group.name))
    }
    async fn codedeploy_deployment(&self, id: &str) -> Result<crate::domain::codedeploy::DeploymentView, AwsError> {
        Err(no_native("codedeploy:GetDeployment", id))
    }
    /// StopDeployment with auto-rollback.
    async fn codedeploy_stop(&self, id: &str) -> Result<(), AwsError> {
        Err(no_native("codedeploy:StopDeployment", id))
    }
    /// Events since `since`, stopped tasks of `task_definition`, unhealthy targets. Never fails:
    /// what could not be read is listed in `gaps`.
    async fn diagnostics(
        &self,
        cluster: &str,
        service: &ServiceState,
        task_definition: &str,
        since: SystemTime,
    ) -> Diagnostics;
}

/// What an `Ecs` without ECS-native deployments (the in-memory fakes) answers.
fn no_native(operation: &'static str, resource: &str) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_string(),
        message: "this ECS has no ECS-native deployments".into(),
        kind: crate::error::AwsErrorKind::Invalid,
    }
}
