//! The few things the executor needs from the outside world. The AWS adapters implement them
//! for real; tests implement them with in-memory state.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::domain::autoscaling::{ScalableTarget, Suspended};
use crate::domain::diagnostics::Diagnostics;
use crate::domain::image::{Digest, EcrLocation};
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

/// Application Auto Scaling of the services (`ecs:service:DesiredCount` targets).
#[async_trait]
pub trait AutoScaling: Send + Sync {
    /// The scalable targets of these services; a service without one is absent.
    async fn targets(&self, cluster: &str, services: &[String]) -> Result<Vec<ScalableTarget>, AwsError>;
    /// Sets a service's suspension and, when given, its range. AWS clamps the service's count
    /// into the range on every such call.
    async fn update_target(
        &self,
        cluster: &str,
        service: &str,
        suspended: Suspended,
        range: Option<(i32, i32)>,
    ) -> Result<(), AwsError>;
}

/// No Application Auto Scaling (`suspend-auto-scaling: false`, and tests that do not use it).
pub struct NoAutoScaling;

#[async_trait]
impl AutoScaling for NoAutoScaling {
    async fn targets(&self, _: &str, _: &[String]) -> Result<Vec<ScalableTarget>, AwsError> {
        Ok(vec![])
    }
    async fn update_target(&self, _: &str, _: &str, _: Suspended, _: Option<(i32, i32)>) -> Result<(), AwsError> {
        Ok(())
    }
}

#[async_trait]
pub trait Registry: Send + Sync {
    /// The digest that `tag` currently points to in the ECR repository.
    async fn resolve_tag(&self, location: &EcrLocation, tag: &str) -> Result<Digest, AwsError>;
    /// Confirms that the repository holds `digest`.
    async fn confirm_digest(&self, location: &EcrLocation, digest: &Digest) -> Result<(), AwsError>;
    /// Every (tag, digest) in the repository.
    async fn tags(&self, location: &EcrLocation) -> Result<Vec<(String, Digest)>, AwsError>;
    /// Whether the repository's tags are IMMUTABLE (then tags are never moved).
    async fn immutable(&self, location: &EcrLocation) -> Result<bool, AwsError>;
    /// Puts `tag` on the manifest of `digest` (a re-tag: the digest does not change).
    async fn retag(&self, location: &EcrLocation, digest: &Digest, tag: &str) -> Result<Retag, AwsError>;
    /// The commit the image says it was built from (its `org.opencontainers.image.revision`
    /// label), `None` when it carries none. `reference` is a tag or a `sha256:` digest: the
    /// manifest is fetched by either, so a tag costs no separate resolution.
    async fn revision(&self, location: &EcrLocation, reference: &str) -> Result<Option<String>, AwsError>;
}

/// What a re-tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retag {
    Created,
    /// The tag already pointed at this digest: success, nothing done (idempotent).
    AlreadyThere,
    /// The repository is IMMUTABLE and the tag points elsewhere: left as is.
    ImmutableElsewhere,
}

/// Time, injected so scenario tests can run on a paused clock.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    async fn sleep(&self, d: Duration);
}

/// The real clock.
pub struct SystemClock;

#[async_trait]
#[allow(clippy::disallowed_methods)] // the Clock port itself: the one place real time is read
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// The listener (or listener rule) whose forward action splits traffic between the two slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficSplitRef {
    Listener(String),
    Rule(String),
}

impl TrafficSplitRef {
    pub fn arn(&self) -> &str {
        match self {
            TrafficSplitRef::Listener(a) | TrafficSplitRef::Rule(a) => a,
        }
    }
}

/// What the forward action says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardWeights {
    /// (target group ARN, weight) as the listener lists them.
    pub weights: Vec<(String, i32)>,
    /// CloudWatch's `LoadBalancer` dimension of the listener's load balancer (`app/name/id`).
    pub load_balancer_dimension: String,
    /// Target-group stickiness of the forward action, when on: how long a client stays with
    /// the target group it was first sent to, whatever the weights.
    pub stickiness: Option<Duration>,
}

/// What a weight change does to the forward action's target-group stickiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stickiness {
    Keep,
    /// Off, so clients pinned to a group follow the weights at once (a rollback's choice).
    TurnOff,
}

impl ForwardWeights {
    pub fn weight_of(&self, target_group: &str) -> Option<i32> {
        self.weights.iter().find(|(tg, _)| tg == target_group).map(|(_, w)| *w)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub target: String,
    pub state: String,
    pub reason: String,
}

#[async_trait]
pub trait TrafficRouter: Send + Sync {
    async fn forward_weights(&self, split: &TrafficSplitRef) -> Result<ForwardWeights, AwsError>;
    /// Sets the weights of the forward action, keeping everything else about it (its
    /// stickiness too, unless told to turn it off).
    async fn set_weights(
        &self,
        split: &TrafficSplitRef,
        weights: &[(String, i32)],
        stickiness: Stickiness,
    ) -> Result<(), AwsError>;
    /// When a weight change last had an attempt that may still be applied later (it timed out
    /// or lost its connection, and was retried): such a late write can undo a newer change.
    fn uncertain_write_at(&self) -> Option<SystemTime> {
        None
    }
    async fn target_health(&self, target_group: &str) -> Result<Vec<TargetHealth>, AwsError>;
}

#[async_trait]
pub trait Metrics: Send + Sync {
    /// RequestCount, HTTPCode_Target_5XX_Count and p99 TargetResponseTime of one target group,
    /// per published minute from `start` (a minute's start) to `end`; a minute CloudWatch has
    /// not published (or that had no requests) is absent.
    async fn target_group_minutes(
        &self,
        load_balancer_dimension: &str,
        target_group_arn: &str,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<crate::domain::minutes::MinuteMetrics>, AwsError>;
    /// (minute start, value) of a custom metric gate's series, per published minute from
    /// `start` to `end`; a minute with no datapoint is absent.
    async fn gate_minutes(
        &self,
        gate: &str,
        source: &crate::domain::metric_gate::GateSource,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<(SystemTime, f64)>, AwsError>;
    /// Those of `alarms` whose state is ALARM. An alarm that does not exist is an error.
    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<crate::domain::analysis::FiringAlarm>, AwsError>;
}

/// An HTTP check of the new version before it gets production traffic.
#[async_trait]
pub trait SmokeCheck: Send + Sync {
    /// The status code of one GET of `url`, or why there was none.
    async fn get(&self, url: &str, timeout: Duration) -> Result<u16, String>;
}

/// What a stage is, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StageStart {
    /// `dev`, `staging`, `prod`, … (the `stage` input, or `deploy` when none is given).
    pub stage: String,
    pub strategy: String,
    pub cluster: String,
    pub services: Vec<String>,
    pub image: String,
    pub version: Option<String>,
    /// Where the stage can be visited (the chain file's `url`), for deployment statuses and
    /// the PR comment.
    pub environment_url: Option<String>,
    /// The stage's GitHub environment (the chain file's `environment`, else the stage's
    /// name; the `stage` input in a single-stage run). None: no deployment is recorded.
    pub environment: Option<String>,
}

/// Where people watch a deployment: GitHub check runs, the sticky PR comment, deployment
/// statuses. A reporter never fails a deployment: it warns and carries on, so it returns
/// nothing. Implementations coalesce `progress` calls to stay far below GitHub's write limits.
#[async_trait]
pub trait Reporter: Send + Sync {
    async fn started(&self, stage: &StageStart);
    /// One line of live progress (current weight, last verdict, counts).
    async fn progress(&self, stage: &str, line: &str);
    /// The end of the stage: the report and the job-summary Markdown already rendered.
    async fn finished(&self, stage: &str, report: &crate::domain::report::DeployReport, summary_markdown: &str);
    /// The stage failed before a deployment started (preflight, registration).
    async fn failed_early(&self, stage: &str, error: &str, summary_markdown: &str);
}

/// Reports nothing (no token, or a local run).
pub struct NoReporter;

#[async_trait]
impl Reporter for NoReporter {
    async fn started(&self, _: &StageStart) {}
    async fn progress(&self, _: &str, _: &str) {}
    async fn finished(&self, _: &str, _: &crate::domain::report::DeployReport, _: &str) {}
    async fn failed_early(&self, _: &str, _: &str, _: &str) {}
}

/// An environment's protection, as GitHub says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub required_reviewers: bool,
    pub wait_timer_minutes: u32,
    /// Deployment branch policies: a job that walks into the environment would bypass them.
    pub branch_policy: bool,
    /// Enabled custom deployment protection rules (GitHub Apps, by slug), and rule types this
    /// reader does not know: each one a gate, never assumed open.
    pub other_rules: Vec<String>,
}

impl Protection {
    pub fn gated(&self) -> bool {
        self.required_reviewers || self.wait_timer_minutes > 0 || self.branch_policy || !self.other_rules.is_empty()
    }

    /// "required reviewers, a 30-minute wait timer, the custom rule change-freeze".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.required_reviewers {
            parts.push("required reviewers".to_string());
        }
        if self.wait_timer_minutes > 0 {
            parts.push(format!("a {}-minute wait timer", self.wait_timer_minutes));
        }
        if self.branch_policy {
            parts.push("a deployment branch policy".to_string());
        }
        parts.extend(self.other_rules.iter().cloned());
        parts.join(", ")
    }
}

/// GitHub environments: the approval gates between stages.
#[async_trait]
pub trait Gates: Send + Sync {
    /// `Ok(None)`: the environment does not exist (so nothing protects it).
    async fn protection(&self, environment: &str) -> Result<Option<Protection>, String>;
}
