//! The runner's `GITHUB_*` variables, as `config` read them.

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
    /// `GITHUB_SHA` as the runner gave it, kept when the `commit` input replaces `sha`: GitHub
    /// puts the deployment of a job with `environment:` on this commit, not the image's.
    #[serde(skip)]
    pub runner_sha: Option<String>,
    /// The `commit-repository` input: where `commit` lives when it is not this repository (an
    /// app repository that dispatched this run). Reports go there; environments stay here.
    #[serde(skip)]
    pub commit_repository: Option<String>,
    /// The event payload at `GITHUB_EVENT_PATH`, read once by `config` (None when the runner
    /// gave none or it does not parse: reporting degrades without it).
    #[serde(skip)]
    pub event: Option<serde_json::Value>,
}

impl GithubContext {
    /// `https://github.com/o/r/actions/runs/123` (with the attempt, when known).
    pub fn run_url(&self) -> Option<String> {
        let server = self.server_url.as_deref().unwrap_or("https://github.com");
        let (repo, run) = (self.repository.as_deref()?, self.run_id.as_deref()?);
        Some(match self.run_attempt.as_deref() {
            Some(a) if a != "1" => format!("{server}/{repo}/actions/runs/{run}/attempts/{a}"),
            _ => format!("{server}/{repo}/actions/runs/{run}"),
        })
    }

    /// The commit the image's revision label names, in place of `GITHUB_SHA` (as `commit` does).
    pub fn with_revision(mut self, sha: &str) -> GithubContext {
        if self.runner_sha.is_none() {
            self.runner_sha = self.sha.take();
        }
        self.sha = Some(sha.to_string());
        self
    }

    /// The repository reports go to: `commit-repository`, else `GITHUB_REPOSITORY`.
    pub fn report_repository(&self) -> Option<&str> {
        self.commit_repository.as_deref().or(self.repository.as_deref())
    }
}
