//! GitHub environments: reading protection rules, which are the chain's approval gates.

use async_trait::async_trait;

use super::client::{seg, Client, ErrorKind};
use crate::ports::{Gates, Protection};

pub struct GithubGates {
    client: Client,
    repository: String,
}

impl GithubGates {
    pub fn new(api_url: &str, token: &str, repository: &str) -> Result<Self, String> {
        Ok(GithubGates {
            client: Client::new(api_url, token).map_err(|e| e.to_string())?,
            repository: repository.to_string(),
        })
    }
}

/// Reads `protection_rules` and `deployment_branch_policy` of
/// `GET /repos/{o}/{r}/environments/{name}`.
pub fn protection_of(env: &serde_json::Value) -> Protection {
    let mut p = Protection {
        required_reviewers: false,
        wait_timer_minutes: 0,
        branch_policy: !env["deployment_branch_policy"].is_null() && env.get("deployment_branch_policy").is_some(),
        other_rules: Vec::new(),
    };
    for rule in env["protection_rules"].as_array().into_iter().flatten() {
        match rule["type"].as_str() {
            Some("required_reviewers") => {
                p.required_reviewers = rule["reviewers"].as_array().is_none_or(|r| !r.is_empty());
            }
            Some("wait_timer") => p.wait_timer_minutes = rule["wait_timer"].as_u64().unwrap_or(0) as u32,
            Some("branch_policy") => p.branch_policy = true,
            other => p
                .other_rules
                .push(format!("a rule of type {}", other.unwrap_or("(none)"))),
        }
    }
    p
}

/// The enabled custom rules of `GET …/environments/{name}/deployment_protection_rules`.
pub fn custom_rules_of(v: &serde_json::Value) -> Vec<String> {
    v["custom_deployment_protection_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["enabled"].as_bool() != Some(false))
        .map(|r| {
            format!(
                "the custom rule {}",
                r["app"]["slug"].as_str().unwrap_or("(unnamed app)")
            )
        })
        .collect()
}

#[async_trait]
impl Gates for GithubGates {
    async fn protection(&self, environment: &str) -> Result<Option<Protection>, String> {
        let path = format!("/repos/{}/environments/{}", self.repository, seg(environment));
        match self.client.get(&path, &[]).await {
            Ok(env) => {
                let mut p = protection_of(&env);
                let rules = format!("{path}/deployment_protection_rules");
                match self.client.get(&rules, &[]).await {
                    Ok(v) => p.other_rules.extend(custom_rules_of(&v)),
                    // Unreadable custom rules are a gate too: never assumed open.
                    Err(e) => p.other_rules.push(format!("custom rules that could not be read ({e})")),
                }
                Ok(Some(p))
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) if matches!(e.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden) => Err(format!(
                "could not read environment `{environment}`: {e}. Fix: give the token `actions: read` (environments read access)"
            )),
            Err(e) => Err(format!("could not read environment `{environment}`: {e}")),
        }
    }
}

/// No GitHub access: every environment counts as protected, so a chain never walks into a
/// stage it cannot check.
pub struct UnknownGates;

#[async_trait]
impl Gates for UnknownGates {
    async fn protection(&self, environment: &str) -> Result<Option<Protection>, String> {
        Err(format!(
            "no github-token or GITHUB_REPOSITORY, so the protection of `{environment}` cannot be read"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rules() {
        let env = serde_json::json!({"protection_rules": [
            {"type": "wait_timer", "wait_timer": 30},
            {"type": "required_reviewers", "reviewers": [{"type": "User"}]},
            {"type": "branch_policy"}
        ]});
        assert_eq!(
            protection_of(&env),
            Protection {
                required_reviewers: true,
                wait_timer_minutes: 30,
                branch_policy: true,
                other_rules: vec![],
            }
        );
        assert!(!protection_of(&serde_json::json!({"protection_rules": []})).gated());
        let policy =
            serde_json::json!({"protection_rules": [], "deployment_branch_policy": {"protected_branches": true}});
        assert!(protection_of(&policy).gated(), "a branch policy is a gate");
        let unknown = serde_json::json!({"protection_rules": [{"type": "something_new"}]});
        assert!(protection_of(&unknown).gated(), "an unknown rule is a gate");
        let custom = serde_json::json!({"total_count": 1, "custom_deployment_protection_rules": [
            {"enabled": true, "app": {"slug": "change-freeze"}}, {"enabled": false, "app": {"slug": "off"}}]});
        assert_eq!(custom_rules_of(&custom), ["the custom rule change-freeze"]);
    }
}
