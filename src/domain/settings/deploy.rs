//! The validated deploy request of one stage: what `config` produces from the inputs and what
//! the executor runs. Values only; parsing and validation live in `config`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{GithubContext, NativeConfig, ProgressiveConfig, ServiceControls, TaskDefinitionFile};
use crate::domain::image::ImageRef;
use crate::domain::strategy::Strategy;

/// Which containers get which image (validated syntax; existence is checked against AWS later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerImages {
    /// Containers of the same repository as `image` (or all, if none match).
    Default(ImageRef),
    Named {
        containers: Vec<String>,
        image: ImageRef,
    },
    Map(BTreeMap<String, ImageRef>),
}

/// A validated deploy request.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployConfig {
    pub cluster: String,
    pub services: Vec<String>,
    pub images: ContainerImages,
    pub region: String,
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
    pub rollback_on_failure: bool,
    pub stage: Option<String>,
    pub version: Option<semver::Version>,
    pub github_token: Option<String>,
    /// How many times faster than real time the AWS behind the endpoint runs: 1 on AWS, the
    /// simulator's time scale in tests (`ECS_DEPLOY_TIME_SCALE`). AWS-side durations the run
    /// waits out (a tag's propagation, a stickiness cookie) last that much less.
    pub aws_time_scale: f64,
    pub strategy: Strategy,
    /// Set for the two-slot strategies.
    pub progressive: Option<ProgressiveConfig>,
    /// Set for `rolling`: how a service that ECS deploys with its own BLUE_GREEN, LINEAR or
    /// CANARY strategy is followed and judged (known only once the service is read).
    pub native: Option<NativeConfig>,
    pub context: GithubContext,
    /// `desired-count`, `force-new-deployment`, `keep-revisions`.
    pub controls: ServiceControls,
    /// `task-definition`: register this file (images substituted) instead of copying the
    /// running revision.
    pub task_definition_file: Option<TaskDefinitionFile>,
    /// A multi-image release the chain deploys (set by the chain, never by inputs): its
    /// components are recorded on the revision, its key is the recorded digest.
    pub release: Option<crate::domain::components::Components>,
    /// `role-to-assume`: the IAM role of the stage's AWS calls (ECR excepted).
    pub role_to_assume: Option<String>,
    /// The inputs the step (or the stage's entry in the config file) set, by action.yml name,
    /// with their values (secrets' withheld): what each controller is checked against, so a
    /// setting it cannot honour is refused instead of skipped (`executor::capabilities`).
    pub given: BTreeMap<String, String>,
    /// `run-task-*`: a one-off task (a migration) before anything is deployed.
    pub run_task: Option<crate::domain::one_off_task::OneOffTaskSpec>,
}
