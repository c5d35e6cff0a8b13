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

/// Reads `protection_rules` of `GET /repos/{o}/{r}/environments/{name}`.
pub fn protection_of(env: &serde_json::Value) -> Protection {
    let mut p = Protection {
        required_reviewers: false,
        wait_timer_minutes: 0,
    };
    for rule in env["protection_rules"].as_array().into_iter().flatten() {
        match rule["type"].as_str() {
            Some("required_reviewers") => {
                p.required_reviewers = rule["reviewers"].as_array().is_none_or(|r| !r.is_empty());
            }
            Some("wait_timer") => p.wait_timer_minutes = rule["wait_timer"].as_u64().unwrap_or(0) as u32,
            _ => {}
        }
    }
    p
}

#[async_trait]
impl Gates for GithubGates {
    async fn protection(&self, environment: &str) -> Result<Option<Protection>, String> {
        let path = format!("/repos/{}/environments/{}", self.repository, seg(environment));
        match self.client.get(&path, &[]).await {
            Ok(env) => Ok(Some(protection_of(&env))),
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
                wait_timer_minutes: 30
            }
        );
        assert!(!protection_of(&serde_json::json!({"protection_rules": []})).gated());
    }
}
