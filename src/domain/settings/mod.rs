//! The run's settings as validated values: what `config` produces from the runner's inputs
//! and the config file, and the only form in which the executor and the reporters see them.
//! Values only: parsing and validation live in `config`, so nothing downstream sees raw inputs.

mod channels;
mod deploy;
mod github_context;
mod native;
mod progressive;
mod service_controls;
mod stages;
mod task_definition_file;

pub use channels::{ReportChannels, Webhook, WebhookKind};
pub use deploy::{ContainerImages, DeployConfig};
pub use github_context::GithubContext;
pub use native::{CodeDeployInputs, NativeConfig};
pub use progressive::{CompareJudge, OnSplit, ProgressiveConfig, StickyRollback, LATENCY_SHARE, SLOWER_NULL_RATIO};
pub use service_controls::ServiceControls;
pub use stages::{ReleaseRun, StagePlan};
pub use task_definition_file::TaskDefinitionFile;
