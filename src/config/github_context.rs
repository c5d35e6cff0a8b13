//! The runner's `GITHUB_*` variables and the event payload they point to.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GithubContext {
    pub repository: Option<String>,
    pub sha: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub server_url: Option<String>,
    pub api_url: Option<String>,
    pub event_name: Option<String>,
    pub event_path: Option<String>,
    pub output: Option<String>,
    pub step_summary: Option<String>,
    pub workflow: Option<String>,
    pub job: Option<String>,
    pub actor: Option<String>,
}

impl GithubContext {
    #[allow(clippy::disallowed_methods)] // config/ is where the process environment is read
    pub fn from_env() -> GithubContext {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> GithubContext {
        // Every field is optional, so this only fails on non-UTF-8 data; then we run without context.
        envy::prefixed("GITHUB_").from_iter(vars).unwrap_or_default()
    }

    /// `https://github.com/o/r/actions/runs/123` (with the attempt, when known).
    pub fn run_url(&self) -> Option<String> {
        let server = self.server_url.as_deref().unwrap_or("https://github.com");
        let (repo, run) = (self.repository.as_deref()?, self.run_id.as_deref()?);
        Some(match self.run_attempt.as_deref() {
            Some(a) if a != "1" => format!("{server}/{repo}/actions/runs/{run}/attempts/{a}"),
            _ => format!("{server}/{repo}/actions/runs/{run}"),
        })
    }

    /// The event payload, if the runner gave one and it parses; reporting degrades without it.
    pub fn event(&self) -> Option<serde_json::Value> {
        let path = self.event_path.as_deref()?;
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runner_variables() {
        let ctx = GithubContext::from_vars([
            ("GITHUB_REPOSITORY".to_string(), "acme/shop".to_string()),
            ("GITHUB_RUN_ID".to_string(), "42".to_string()),
            ("GITHUB_RUN_ATTEMPT".to_string(), "2".to_string()),
            ("GITHUB_REF".to_string(), "refs/heads/main".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ]);
        assert_eq!(ctx.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            ctx.run_url().as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42/attempts/2")
        );
    }
}
