//! GitHub environments: reading protection rules, which are the chain's approval gates.

use async_trait::async_trait;

use crate::ports::{Gates, Protection};

pub struct GithubGates {
    client: octocrab::Octocrab,
    repository: String,
}

impl GithubGates {
    pub fn new(api_url: &str, token: &str, repository: &str) -> Result<Self, String> {
        let client = octocrab::Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| format!("GITHUB_API_URL `{api_url}` is not a URL: {e}"))?
            .personal_token(token.to_string())
            .build()
            .map_err(|e| format!("could not build the GitHub client: {e}"))?;
        Ok(GithubGates {
            client,
            repository: repository.to_string(),
        })
    }
}

/// Percent-encodes a path segment (environment names may contain spaces and more).
pub fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
        let path = format!(
            "/repos/{}/environments/{}",
            self.repository,
            encode_segment(environment)
        );
        match self.client.get::<serde_json::Value, _, ()>(&path, None).await {
            Ok(env) => Ok(Some(protection_of(&env))),
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => Ok(None),
            Err(octocrab::Error::GitHub { source, .. }) => Err(format!(
                "GitHub answered {} for environment `{environment}`: {} (the token needs `actions: read` / environments read access)",
                source.status_code, source.message
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
        assert_eq!(encode_segment("prod eu/1"), "prod%20eu%2F1");
    }
}
