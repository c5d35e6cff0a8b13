//! What the reports say about the run: the repository, the commit, the run's URL and, from the
//! event payload, the pull request, branch and commit message. Everything from the payload is
//! untrusted text (anyone can name a branch or a PR) and is escaped wherever it is shown.

use serde_json::Value;

use crate::domain::settings::GithubContext;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    pub owner: String,
    pub repo: String,
    /// The deployed commit: the `commit` input, a PR's head, or `GITHUB_SHA`.
    pub sha: String,
    /// The commit GitHub puts a job's own environment deployment on: a PR's head, else
    /// `GITHUB_SHA` (a dispatch's HEAD even when `commit` names the image's commit).
    pub job_sha: String,
    pub run_url: Option<String>,
    pub event_name: Option<String>,
    /// The branch (a PR's head branch, or the pushed branch).
    pub branch: Option<String>,
    /// The pull request the event names; for a push it is looked up from the commit later.
    pub pull_request: Option<PullRequest>,
    /// The first line of the head commit's message (push events).
    pub commit_message: Option<String>,
}

impl RunInfo {
    /// `None` without `GITHUB_REPOSITORY` as `owner/repo` or without `GITHUB_SHA`.
    pub fn from_context(ctx: &GithubContext) -> Option<RunInfo> {
        let (owner, repo) = ctx.report_repository()?.split_once('/')?;
        let sha = ctx.sha.as_deref().filter(|s| !s.trim().is_empty())?;
        if owner.is_empty() || repo.is_empty() {
            return None;
        }
        let mut info = RunInfo {
            owner: owner.to_string(),
            repo: repo.to_string(),
            sha: sha.trim().to_string(),
            job_sha: ctx.runner_sha.as_deref().unwrap_or(sha).trim().to_string(),
            run_url: ctx.run_url(),
            event_name: ctx.event_name.clone(),
            branch: ctx
                .git_ref
                .as_deref()
                .and_then(|r| r.strip_prefix("refs/heads/"))
                .map(str::to_string),
            ..Default::default()
        };
        if ctx.commit_repository.is_some() {
            // The commit is another repository's: this run's event, ref and job deployment
            // say nothing about it (its pull request is looked up there).
            info.branch = None;
            info.job_sha = String::new();
        } else if let Some(event) = &ctx.event {
            info.apply_event(event);
        }
        Some(info)
    }

    /// Reads the pull request, branch and commit message from an event payload.
    pub fn apply_event(&mut self, event: &Value) {
        if let Some(pr) = event.get("pull_request") {
            if let Some(number) = pr.get("number").and_then(Value::as_u64) {
                self.pull_request = Some(PullRequest {
                    number,
                    title: pr.get("title").and_then(Value::as_str).unwrap_or_default().to_string(),
                });
            }
            if let Some(head) = pr.pointer("/head/ref").and_then(Value::as_str) {
                self.branch = Some(head.to_string());
            }
            // On pull_request events GITHUB_SHA is the merge commit; checks and deployments
            // belong on the PR's head commit, where GitHub shows them. It goes into API paths,
            // so only a real commit id is taken.
            if let Some(head_sha) = pr
                .pointer("/head/sha")
                .and_then(Value::as_str)
                .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                self.sha = head_sha.to_string();
                self.job_sha = head_sha.to_string();
            }
        }
        if let Some(msg) = event.pointer("/head_commit/message").and_then(Value::as_str) {
            self.commit_message = msg.lines().next().map(str::to_string);
        }
        if self.branch.is_none() {
            if let Some(r) = event.get("ref").and_then(Value::as_str) {
                self.branch = r.strip_prefix("refs/heads/").map(str::to_string);
            }
        }
    }

    pub fn short_sha(&self) -> &str {
        short_sha(&self.sha)
    }
}

/// A commit id's first 7 characters, as GitHub shows it. Cut by characters: the text may not
/// be a real id, and a byte index could fall inside a character.
pub fn short_sha(sha: &str) -> &str {
    sha.char_indices().nth(7).map_or(sha, |(i, _)| &sha[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GithubContext {
        GithubContext {
            repository: Some("acme/shop".into()),
            sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
            run_id: Some("7".into()),
            git_ref: Some("refs/heads/main".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_pull_request_event_names_the_pr_and_its_branch() {
        let mut info = RunInfo::from_context(&ctx()).unwrap();
        assert_eq!(info.branch.as_deref(), Some("main"));
        info.apply_event(&serde_json::json!({
            "pull_request": {"number": 12, "title": "Faster", "head": {"ref": "feat/x"}}
        }));
        assert_eq!(
            info.pull_request,
            Some(PullRequest {
                number: 12,
                title: "Faster".into()
            })
        );
        assert_eq!(info.branch.as_deref(), Some("feat/x"));
        assert_eq!(info.short_sha(), "0123456");
        assert_eq!(
            info.run_url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/7")
        );
    }

    #[test]
    fn a_push_gives_the_commit_message_first_line() {
        let mut info = RunInfo::from_context(&ctx()).unwrap();
        info.apply_event(&serde_json::json!({"ref": "refs/heads/main", "head_commit": {"message": "Fix\n\nbody"}}));
        assert_eq!(info.commit_message.as_deref(), Some("Fix"));
        assert!(info.pull_request.is_none());
    }

    #[test]
    fn no_repository_no_reports() {
        let mut c = ctx();
        c.repository = Some("noslash".into());
        assert!(RunInfo::from_context(&c).is_none());
    }

    #[test]
    fn pull_request_checks_go_on_the_head_commit() {
        let mut info = RunInfo {
            sha: "m".repeat(40),
            ..Default::default()
        };
        info.apply_event(
            &serde_json::json!({"pull_request": {"number": 7, "head": {"ref": "feat/x", "sha": "a".repeat(40)}}}),
        );
        assert_eq!(info.sha, "a".repeat(40));
        assert_eq!(
            info.job_sha,
            "a".repeat(40),
            "GitHub's job deployment is on the head too"
        );
        assert_eq!(info.branch.as_deref(), Some("feat/x"));
    }
}
