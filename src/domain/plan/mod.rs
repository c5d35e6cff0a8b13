//! A deployment as a value: the steps a strategy walks, computed from the configuration and
//! what preflight observed, before anything changes. `command: plan`, the job summary, the
//! lock's lifetime and the executor all read the same `Plan`, so what is printed is what runs.
//!
//! A step is a small union in the Argo Rollouts style. The executor interprets the list from
//! a cursor; for two-slot strategies the cursor is kept in AWS (a tag on the new slot's
//! service, see `cursor`) so that a re-run after a crash continues exactly where the last one
//! stood and never skips a bake or a pause.

mod build;
pub mod cursor;
mod server_side;

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use build::{rolling, two_slot, TwoSlotSettings};
pub use server_side::{codedeploy, native};

/// One thing the executor does. Durations are whole seconds so the plan prints and hashes
/// the same everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Register a new revision of each service's task definition with the release's images.
    RegisterRevision { services: Vec<String> },
    /// Run a one-off task (a migration) from the new revision and require exit code 0, before
    /// any service moves. `container` None: the first container the release's image goes into.
    RunTask {
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<String>,
        command: Vec<String>,
        timeout_secs: u64,
        /// The task's own network (empty: the service's).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subnets: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        security_groups: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assign_public_ip: Option<bool>,
    },
    /// Point the services at the new revision (two-slot: scaled to the live slot's count).
    UpdateService {
        services: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        desired: Option<i32>,
    },
    /// Wait until our own deployment of each service is the only one, COMPLETED.
    AwaitStable { services: Vec<String> },
    /// Wait until every target of the slot's target group is healthy.
    AwaitHealthy { service: String },
    /// Point the test listener at the new slot, before any production traffic.
    PointTestListener { service: String },
    /// GET the smoke URL until it answers 2xx.
    Smoke { url: String, timeout_secs: u64 },
    /// Give the new slot `weight` percent of production traffic (the stable slot the rest).
    SetWeight { weight: u8 },
    /// Hold the weight for `seconds`, measuring every `interval_secs`; a failing verdict
    /// rolls back.
    Bake {
        weight: u8,
        seconds: u64,
        interval_secs: u64,
    },
    /// Stop with traffic held at `weight`; a later, gated run continues or rolls back.
    AwaitApproval { weight: u8 },
    /// CreateDeployment in the CodeDeploy deployment group `group` (`application/group`) with
    /// an AppSpec of the new revision, under `config` (the group's when None).
    CreateCodeDeployDeployment {
        service: String,
        group: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        config: Option<String>,
    },
    /// Follow ECS's own deployment (BLUE_GREEN, LINEAR, CANARY) or CodeDeploy's through its lifecycle stages,
    /// judging production traffic on the new revision; a failing verdict or a signal stops it
    /// with ROLLBACK. `until`: deployed, shifted or started (`wait-until`).
    FollowServiceDeployment {
        service: String,
        shape: String,
        until: String,
        /// ECS's own shift and bake (AWS time scaled to the run's): waited past `wait-timeout`.
        ecs_secs: u64,
    },
    /// Record which slot is stable now (service tags).
    Record { stable: String, previous: String },
    /// Keep the old slot warm for `keep_for_secs` (instant rollback by weights), then scale it
    /// to 0, unless clients pinned to it by target-group stickiness (`pinned_secs`) outlast
    /// what the run waits: then it stays up and the report says when it may go.
    Retire {
        service: String,
        keep_for_secs: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pinned_secs: Option<u64>,
    },
}

impl Step {
    /// The one-off task a `RunTask` step runs, as the plan holds it (None for other steps).
    pub fn one_off_task(&self) -> Option<crate::domain::one_off_task::OneOffTaskSpec> {
        match self {
            Step::RunTask {
                container,
                command,
                timeout_secs,
                subnets,
                security_groups,
                assign_public_ip,
            } => Some(crate::domain::one_off_task::OneOffTaskSpec {
                command: command.clone(),
                container: container.clone(),
                timeout: std::time::Duration::from_secs(*timeout_secs),
                subnets: subnets.clone(),
                security_groups: security_groups.clone(),
                assign_public_ip: *assign_public_ip,
            }),
            _ => None,
        }
    }

    /// The kebab-case name of the step kind, as the plan serializes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::RegisterRevision { .. } => "register-revision",
            Step::RunTask { .. } => "run-task",
            Step::UpdateService { .. } => "update-service",
            Step::AwaitStable { .. } => "await-stable",
            Step::AwaitHealthy { .. } => "await-healthy",
            Step::PointTestListener { .. } => "point-test-listener",
            Step::Smoke { .. } => "smoke",
            Step::SetWeight { .. } => "set-weight",
            Step::Bake { .. } => "bake",
            Step::AwaitApproval { .. } => "await-approval",
            Step::CreateCodeDeployDeployment { .. } => "create-codedeploy-deployment",
            Step::FollowServiceDeployment { .. } => "follow-service-deployment",
            Step::Record { .. } => "record",
            Step::Retire { .. } => "retire",
        }
    }

    /// Whether this step changes what production traffic sees (the cursor is written first).
    pub fn moves_traffic(&self) -> bool {
        matches!(self, Step::SetWeight { .. })
    }
}

fn secs(s: u64) -> String {
    humantime::format_duration(Duration::from_secs(s)).to_string()
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::RegisterRevision { services } => {
                write!(f, "register a new task-definition revision for {}", services.join(", "))
            }
            Step::RunTask {
                container,
                command,
                timeout_secs,
                subnets,
                security_groups,
                assign_public_ip,
            } => {
                let line = shlex::try_join(command.iter().map(String::as_str)).unwrap_or_else(|_| command.join(" "));
                write!(f, "run `{line}` as a one-off task of the new revision")?;
                if let Some(c) = container {
                    write!(f, " in container {c}")?;
                }
                if !subnets.is_empty() {
                    write!(f, " in subnets {}", subnets.join(", "))?;
                }
                if !security_groups.is_empty() {
                    write!(f, " with security groups {}", security_groups.join(", "))?;
                }
                if *assign_public_ip == Some(true) {
                    write!(f, " with a public IP")?;
                }
                write!(f, "; exit code 0 within {} or nothing is deployed", secs(*timeout_secs))
            }
            Step::UpdateService { services, desired } => {
                write!(f, "update {} to the new revision", services.join(", "))?;
                match desired {
                    Some(d) => write!(f, " with {d} task(s)"),
                    None => Ok(()),
                }
            }
            Step::AwaitStable { services } => write!(f, "wait until {} is stable", services.join(", ")),
            Step::AwaitHealthy { service } => write!(f, "wait until every target of {service} is healthy"),
            Step::PointTestListener { service } => write!(f, "point the test listener at {service}"),
            Step::Smoke { url, timeout_secs } => write!(f, "smoke check {url} (2xx within {})", secs(*timeout_secs)),
            Step::SetWeight { weight } => write!(f, "set {weight}% of traffic on the new slot"),
            Step::Bake {
                weight,
                seconds,
                interval_secs,
            } => write!(
                f,
                "bake {} at {weight}% under analysis (every {})",
                secs(*seconds),
                secs(*interval_secs)
            ),
            Step::AwaitApproval { weight } => write!(f, "pause at {weight}% until a gated run continues"),
            Step::CreateCodeDeployDeployment { service, group, config } => {
                write!(f, "deploy the new revision to {service} through CodeDeploy deployment group {group}")?;
                match config {
                    Some(c) => write!(f, " with {c}"),
                    None => write!(f, " with the group's deployment config"),
                }
            }
            Step::FollowServiceDeployment {
                service, shape, until, ..
            } => write!(
                f,
                "follow the deployment of {service} ({shape}) under analysis until {until}; a failing verdict or a signal stops it with a rollback"
            ),
            Step::Record { stable, previous } => {
                write!(f, "record {stable} as the stable slot, {previous} as previous")
            }
            Step::Retire {
                service,
                keep_for_secs,
                pinned_secs,
            } if pinned_secs.is_none_or(|p| p < *keep_for_secs) => {
                write!(
                    f,
                    "keep {service} warm for {}, then scale it to 0",
                    secs(*keep_for_secs)
                )
            }
            Step::Retire {
                service,
                keep_for_secs,
                pinned_secs: Some(pinned),
            } if pinned > keep_for_secs => write!(
                f,
                "keep {service} warm for {}, then leave it running: target-group stickiness pins clients to it for {}",
                secs(*keep_for_secs),
                secs(*pinned)
            ),
            Step::Retire {
                service, keep_for_secs, ..
            } => write!(
                f,
                "keep {service} warm for {} (its clients' stickiness), then scale it to 0",
                secs(*keep_for_secs)
            ),
        }
    }
}

/// The steps of one deployment and where the executor stands in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub strategy: String,
    /// The image the plan deploys (pinned by digest when it is in ECR).
    pub image: String,
    pub steps: Vec<Step>,
    /// Index of the next step to run (0 for a fresh deployment).
    pub cursor: usize,
}

impl Plan {
    /// A short, stable fingerprint of what the plan does (strategy, image, steps; not the
    /// cursor). A resume only trusts a cursor written under the same fingerprint.
    pub fn hash(&self) -> String {
        #[derive(Serialize)]
        struct Identity<'a> {
            strategy: &'a str,
            image: &'a str,
            steps: &'a [Step],
        }
        let json = serde_json::to_vec(&Identity {
            strategy: &self.strategy,
            image: &self.image,
            steps: &self.steps,
        })
        .unwrap_or_default();
        let digest = Sha256::digest(json);
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// The plan as numbered lines, as `command: plan`, the summary and the executor's log show it.
    pub fn lines(&self) -> Vec<String> {
        let n = self.steps.len();
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}/{n} {}: {s}", i + 1, s.kind()))
            .collect()
    }

    /// The longest the remaining steps can take if every wait runs to `wait_timeout` and every
    /// bake waits `metrics_wait` past its bake time for CloudWatch (the rest of its last minute,
    /// the publication delay, a last read): what the deploy lock's lifetime must cover.
    pub fn worst_case(&self, wait_timeout: Duration, metrics_wait: Duration) -> Duration {
        self.steps
            .iter()
            .skip(self.cursor)
            .map(|s| match s {
                Step::AwaitStable { .. } | Step::AwaitHealthy { .. } => wait_timeout,
                Step::FollowServiceDeployment { ecs_secs, .. } => wait_timeout + Duration::from_secs(*ecs_secs),
                Step::Smoke { timeout_secs, .. } | Step::RunTask { timeout_secs, .. } => {
                    Duration::from_secs(*timeout_secs)
                }
                Step::Bake { seconds, .. } => Duration::from_secs(*seconds) + metrics_wait,
                Step::Retire { keep_for_secs, .. } => Duration::from_secs(*keep_for_secs),
                _ => Duration::from_secs(30),
            })
            .sum()
    }
}
