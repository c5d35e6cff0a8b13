//! Everything the run is told: action inputs, the runner's `GITHUB_*` context and the event
//! payload. This is the only module that reads the process environment.

pub mod chain_file;
pub mod choices;
pub mod compare_judge;
pub mod containers;
#[cfg(test)]
mod documented_defaults;
pub mod github_context;
pub mod input_error;
pub mod inputs;
pub mod metric_gates;
pub mod native;
pub mod notify;
pub mod parse;
pub mod progressive;
pub mod report_channels;
pub mod role;
pub mod run_task;
pub mod service_controls;
pub mod stage_scope;
pub mod stages;
pub mod task_definition_file;
pub mod validate;

pub use github_context::GithubContext;
pub use inputs::RawInputs;
pub use validate::{validate, DeployConfig, InputError};

/// Reads the `INPUT_*` variables and the GitHub context from the process environment.
pub fn from_env() -> Result<(RawInputs, GithubContext), InputError> {
    let inputs = RawInputs::from_env()?;
    let context = GithubContext::from_env();
    Ok((inputs, context))
}

/// How much faster than real time the AWS behind AWS_ENDPOINT_URL runs: the local simulator's
/// time scale, which the tests and the demo set as ECS_DEPLOY_TIME_SCALE so CloudWatch's minute
/// shrinks with it. 1 (real time) when unset, as on AWS.
#[allow(clippy::disallowed_methods)] // config/ is where the process environment is read
pub fn time_scale_from_env() -> f64 {
    std::env::var("ECS_DEPLOY_TIME_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 1.0)
        .unwrap_or(1.0)
}

/// The AWS region from the environment, the fallback for the `aws-region` input.
#[allow(clippy::disallowed_methods)] // config/ is where the process environment is read
pub fn region_from_env() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
}
