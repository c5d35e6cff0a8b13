//! The action's inputs as the runner passes them: `INPUT_<NAME>` with the name upper-cased and
//! hyphens kept. envy lower-cases the rest of the name, so fields are kebab-case. Every field is
//! a string here: an omitted input arrives as `""`, and typed parsing happens in `validate` so
//! that each error can name its input.

use serde::{Deserialize, Serialize};

use super::validate::InputError;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct RawInputs {
    pub cluster: Option<String>,
    pub services: Option<String>,
    pub image: Option<String>,
    pub containers: Option<String>,
    pub aws_region: Option<String>,
    pub wait_timeout: Option<String>,
    pub poll_interval: Option<String>,
    pub rollback_on_failure: Option<String>,
    pub stage: Option<String>,
    pub version: Option<String>,
    pub github_token: Option<String>,
    pub strategy: Option<String>,
    pub listener_arn: Option<String>,
    pub test_listener_arn: Option<String>,
    pub canary_steps: Option<String>,
    pub linear_step: Option<String>,
    pub bake_time: Option<String>,
    pub analysis_interval: Option<String>,
    pub alarms: Option<String>,
    pub max_5xx_rate: Option<String>,
    pub max_p99_latency: Option<String>,
    pub max_5xx_rate_increase: Option<String>,
    pub min_requests: Option<String>,
    pub failure_limit: Option<String>,
    pub on_inconclusive: Option<String>,
    pub smoke_url: Option<String>,
    pub smoke_timeout: Option<String>,
    pub keep_old_for: Option<String>,
    pub metrics_delay: Option<String>,
    pub recent_window: Option<String>,
    pub sticky_rollback: Option<String>,
    pub judge: Option<String>,
    pub judge_confidence: Option<String>,
    pub judge_margin: Option<String>,
    pub early_pass: Option<String>,
    pub on_split: Option<String>,
    pub native_canary_percent: Option<String>,
    pub native_canary_bake: Option<String>,
    pub native_linear_percent: Option<String>,
    pub native_linear_bake: Option<String>,
    pub native_bake_time: Option<String>,
    pub wait_until: Option<String>,
    pub codedeploy_application: Option<String>,
    pub codedeploy_deployment_group: Option<String>,
    pub codedeploy_config: Option<String>,
    pub config: Option<String>,
    pub command: Option<String>,
    pub to: Option<String>,
    pub until: Option<String>,
    pub allow_unverified: Option<String>,
    pub slack_webhook_url: Option<String>,
    pub webhook_url: Option<String>,
    pub report: Option<String>,
    pub commit: Option<String>,
    pub commit_repository: Option<String>,
    pub desired_count: Option<String>,
    pub force_new_deployment: Option<String>,
    pub keep_revisions: Option<String>,
    pub suspend_auto_scaling: Option<String>,
    pub role_to_assume: Option<String>,
    pub task_definition: Option<String>,
    pub run_task_command: Option<String>,
    pub run_task_container: Option<String>,
    pub run_task_timeout: Option<String>,
    pub run_task_subnets: Option<String>,
    pub run_task_security_groups: Option<String>,
    pub run_task_assign_public_ip: Option<String>,
}

impl RawInputs {
    #[allow(clippy::disallowed_methods)] // config/ is where the process environment is read
    pub fn from_env() -> Result<RawInputs, InputError> {
        Self::from_vars(std::env::vars())
    }

    /// Inputs as the runner passes them for a step whose `with:` is `pairs`: every input
    /// action.yml declares, at its default unless `pairs` sets it (`github.token` stands for a
    /// token), names as `INPUT_<NAME>`. Unit tests read inputs only this way.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> RawInputs {
        let mut vars: Vec<(String, String)> = action_yml_defaults()
            .into_iter()
            .filter(|(name, _)| !pairs.iter().any(|(k, _)| k == name))
            .map(|(name, default)| (name, default.replace("${{ github.token }}", "ghs_unitTestToken")))
            .chain(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        vars.iter_mut()
            .for_each(|(k, _)| *k = format!("INPUT_{}", k.to_uppercase()));
        RawInputs::from_vars(vars).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> Result<RawInputs, InputError> {
        envy::prefixed("INPUT_").from_iter(vars).map_err(|e| {
            InputError::new(
                "(inputs)",
                format!("could not read the action inputs: {e}"),
                "check the `with:` block of the step",
            )
        })
    }
}

/// action.yml's inputs and their declared defaults (`""` where none is declared).
#[cfg(test)]
pub fn action_yml_defaults() -> Vec<(String, String)> {
    let action: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(include_str!("../../action.yml")).expect("action.yml is YAML");
    action["inputs"]
        .as_mapping()
        .expect("inputs")
        .iter()
        .map(|(k, v)| {
            let default = match &v["default"] {
                serde_yaml_ng::Value::String(s) => s.clone(),
                serde_yaml_ng::Value::Null => String::new(),
                other => serde_yaml_ng::to_string(other).expect("scalar").trim().to_string(),
            };
            (k.as_str().expect("name").to_string(), default)
        })
        .collect()
}

/// `""` (and whitespace) means "not given".
/// Inputs whose value is a credential: recorded as given, never with their value.
const SECRETS: &[&str] = &["github-token", "slack-webhook-url", "webhook-url"];

/// Every input set to a non-empty value, by its action.yml name, with the value (trimmed; a
/// secret's withheld).
pub fn given_inputs(raw: &RawInputs) -> std::collections::BTreeMap<String, String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(raw) else {
        return Default::default();
    };
    fields
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value.as_str().map(str::trim).filter(|v| !v.is_empty())?.to_string();
            let value = if SECRETS.contains(&name.as_str()) {
                String::new()
            } else {
                value
            };
            Some((name, value))
        })
        .collect()
}

pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
